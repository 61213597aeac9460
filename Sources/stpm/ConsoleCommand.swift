import ArgumentParser
import Foundation
import Backbones
import Console
import Detection
import Numerics

struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Full-screen inspection console: browse and triage test images, watch training, set the threshold, export.",
        discussion: """
        Tab/Shift-Tab or 1-4 focus a pane; ? or F1 lists every key; q quits. With --train the console starts \
        training DATA's normal images into --model at once, showing the loss curves as they grow; a model that \
        stopped early continues, and a finished one opens for inspection. With --watch DIR the console is a live \
        view of `stpm watch DIR` with --model: new images on top with score and verdict, a strip chart of the last \
        scores with the threshold, the inspector on the newest flagged image, threshold keys acting on what comes next. \
        With --model A --model B the console compares two models: both scores and verdicts in the list (D keeps the \
        images they disagree on), both heatmaps side by side on one colour scale, both histograms with their own \
        thresholds (M switches which one the threshold keys move).
        """)

    @Argument(help: "Dataset root (MVTec AD layout).") var data: String?
    @OptionGroup var folders: LabelledFolderArguments
    @Option(help: "Model directory (from stpm train), or the one to train into with --train; twice to compare two models.")
    var model: [String] = []
    @Option(help: "Theme name (from Themes/) or path to a .theme file.") var theme: String?
    @Flag(help: "Plain ASCII images and no colour, for monochrome terminals.") var ascii = false
    @Flag(help: "No mouse (clicks, wheel, dragging the threshold), so that the terminal's own text selection works.") var noMouse = false
    @Option(help: ArgumentHelp("Images in the inspector: kitty, sixel, iterm (pixels), blocks (half blocks), ascii.",
                               discussion: "Default: STPM_GRAPHICS, else detected from the terminal; half blocks inside tmux."))
    var graphics: GraphicsProtocol?
    @Flag(help: "Start training into --model at once.") var train = false
    @Option(help: "Watch this folder live with --model (as stpm watch; repeat for more folders).") var watch: [String] = []
    @Option(name: .customLong("watch-log"), help: "The watch log (default: as stpm watch).") var watchLog: String?
    @Flag(inversion: .prefixedNo, help: "While watching, ring the terminal bell on each flagged image.") var bell = true
    @Option(help: "Folder for exports (e), or the first free DIR-N beside it.") var exportDir = "stpm-export"
    @OptionGroup var training: TrainingArguments

    func validate() throws {
        if model.count > 2 { throw ValidationError("--model at most twice: --model A --model B compares two models") }
        if model.count == 2 && (train || !watch.isEmpty) { throw ValidationError("two models are compared on a dataset, not with --train or --watch") }
        if train && model.isEmpty { throw ValidationError("--train needs --model DIR to train into") }
        if train && data == nil { throw ValidationError("--train needs the dataset argument") }
        if !watch.isEmpty && (model.isEmpty || train) { throw ValidationError("--watch needs --model MODEL (a trained model, not --train)") }
        if data != nil || folders.normal != nil || folders.abnormal != nil { try folders.validate(data: data) }
    }

    func run() throws {
        var o = ConsoleOptions()
        o.dataPath = data
        if let normal = folders.normal, let abnormal = folders.abnormal { o.labelledFolders = (normal, abnormal, folders.masks) }
        o.modelPath = model.first
        o.comparisonModelPath = model.dropFirst().first
        o.theme = theme
        o.ascii = ascii
        o.graphics = graphics
        o.mouse = !noMouse
        o.trainAtStart = train
        o.watchFolders = watch
        o.watchLog = watchLog
        o.bell = bell
        o.exportDirectory = exportDir
        o.training = try training.options()
        try ConsoleApp(options: o).run()
    }
}

extension GraphicsProtocol: ExpressibleByArgument {}
