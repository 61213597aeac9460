import Foundation
import Detection

/// What `stpm console` was asked to open.
public struct ConsoleOptions {
    public var dataPath: String?
    /// Labelled test folders (anomalib's layout) instead of `dataPath`; see `MVTecDataset(normal:abnormal:masks:)`.
    public var labelledFolders: (normal: String, abnormal: String, masks: String?)?
    public var modelPath: String?
    /// A second model (`--model A --model B`): its scores, verdicts, heatmaps and histogram beside the first's.
    public var comparisonModelPath: String?
    /// Folders to watch live with the model (the live view), and its log (default as `stpm watch`).
    public var watchFolders: [String] = []
    public var watchLog: String?
    /// Ring the terminal bell on each flagged image while watching.
    public var bell = false
    public var theme: String?
    public var ascii = false
    /// --graphics; nil detects the terminal's protocol.
    public var graphics: GraphicsProtocol?
    /// Off with --no-mouse, so that the terminal's own selection works.
    public var mouse = true
    /// Train into `modelPath` (a new directory) as soon as the console is up.
    public var trainAtStart = false
    public var training = TrainingOptions()
    /// Exports go here, or to the first free "<dir>-N" beside it.
    public var exportDirectory = "stpm-export"

    public init() {}
}

/// The console program: owns the screen and the state, runs the key loop, and answers the
/// state's `ConsoleCommand`s with the engine. Keys and engine events alike go through the
/// state's `update`; the app runs the commands it returns and draws. Long work (training,
/// scoring, export) runs on worker threads whose events are drained between key reads, so
/// keys never wait on it.
public final class ConsoleApp {
    var state = ConsoleState()
    var options: ConsoleOptions
    let screen: Screen
    let library = ThemeLibrary.standard()
    var theme: Theme
    var appliedThemeIndex = 0
    var appliedColormapIndex = 0
    var colormaps: [Colormap]
    let events = EventQueue()

    var dataset: DatasetIndex
    let datasetRoot: String?
    var scorer: ScoringWorker?
    /// Scores with the second model of `--model A --model B`.
    var comparisonScorer: ScoringWorker?
    /// Replaced scorers may still be finishing their batch; quitting waits for them too.
    var retiredScorers: [ScoringWorker] = []
    var watcher: WatchWorker?
    var training: TrainingRunner?
    /// Inspector images in pixels (kitty, sixel, iTerm2), kept in step with the grid after each frame.
    var placer: ImagePlacer
    let cellPixels: CellPixels

    /// Reads the dataset and checks the model before the screen opens, so a wrong path is a
    /// plain message on the terminal rather than an error inside the UI.
    public init(options requested: ConsoleOptions) throws {
        var options = requested
        if let data = options.dataPath {
            let scanned = try MVTecDataset(root: data)
            dataset = DatasetIndex(scanned)
            datasetRoot = data
        } else if let folders = options.labelledFolders {
            dataset = DatasetIndex(try MVTecDataset(normal: folders.normal, abnormal: folders.abnormal, masks: folders.masks))
            datasetRoot = nil
        } else {
            dataset = DatasetIndex()
            datasetRoot = nil
        }
        if let model = options.modelPath {
            let store = ModelStore(path: model)
            if options.trainAtStart {
                guard datasetRoot != nil else { throw ConsoleError.trainingNeedsData }
                // Asked again to train into a model it trained before (make demo, run twice): a
                // finished run is opened for inspection, an interrupted one continues.
                if TrainingSession.folderState(store) == .finished { options.trainAtStart = false }
            } else if !store.exists {
                throw ModelStoreError.notAModel(model)
            }
        }
        if let second = options.comparisonModelPath, !ModelStore(path: second).exists { throw ModelStoreError.notAModel(second) }
        let graphics = options.ascii ? nil : try GraphicsSetup.detect(choice: options.graphics)
        if graphics?.graphics == .ascii { options.ascii = true }
        placer = ImagePlacer(graphics: graphics?.graphics ?? .ascii, throughTmux: graphics?.throughTmux ?? false)
        cellPixels = graphics?.cell ?? .fallback
        self.options = options
        let (theme, themeError) = library.themeOrDefault(options.theme ?? Theme.builtin.name)
        self.theme = theme
        let (maps, mapError) = library.colormaps()
        colormaps = maps
        screen = try Screen(maximumDepth: options.ascii ? .monochrome : .direct, mouse: options.mouse)
        state.status = dataset.problems.first ?? [themeError, mapError].compactMap { $0.map { "\($0) — using the default" } }.first
        setUpState()
    }

    private func setUpState() {
        var names = library.themeNames()
        let requested = options.theme ?? Theme.builtin.name
        if !names.contains(requested) && theme.name != Theme.builtin.name { names.insert(requested, at: 0) }
        state.themeNames = names
        state.themeIndex = names.firstIndex(of: requested) ?? 0
        appliedThemeIndex = state.themeIndex
        state.colormapNames = colormaps.map(\.name)
        state.maximumColorDepth = screen.depth
        state.colorDepth = screen.depth
        state.groups = dataset.groups
        state.rows = dataset.rows
        state.scope = state.treeScopes.first { $0 == "test/" } ?? ""
        state.exportDestination = Self.freshFolder(options.exportDirectory)
        if let model = options.modelPath, !options.trainAtStart {
            state.training = TrainingStatus(replay: TrainingSession.replay(ModelStore(path: model)))
            perform(state.openModel(model))
            if let second = options.comparisonModelPath { perform(state.openComparison(second)) }
            if !options.watchFolders.isEmpty { startWatching(options.watchFolders, model: model) }
        }
        if options.trainAtStart, let model = options.modelPath {
            startTraining(options.training, into: model, resume: TrainingSession.folderState(ModelStore(path: model)) == .stopped)
        }
    }

    /// Runs until the user quits; the terminal is restored on every way out.
    public func run() {
        defer {
            show(placer.clear())
            screen.close()
        }
        var dirty = true
        while !state.shouldQuit {
            if dirty { draw() }
            dirty = false
            if let key = screen.readKey() {
                send(.key(key))
                applyAppearance()
                dirty = true
            }
            if drainEvents() { dirty = true }
        }
        shutDown()
    }

    func draw() {
        let (width, height) = screen.size
        (state.screenWidth, state.screenHeight) = (width, height)
        if let list = ConsoleView.layout(width: width, height: height)[.dataset] {
            state.listPageSize = DatasetPane().listCapacity(state, content: list.inset(by: 1))
        }
        let context = RenderContext(theme: theme, colormap: colormaps[min(state.colormapIndex, colormaps.count - 1)],
                                    pixelGraphics: placer.graphics.drawsPixels)
        let grid = ConsoleView().render(state, context, width: width, height: height)
        screen.draw(state.colorDepth == screen.depth ? grid : grid.reduced(to: state.colorDepth))
        if placer.graphics.drawsPixels { placeImage(context, width: width, height: height) }
    }

    /// The inspector's image in pixels over the flushed grid: replaced when anything in it changes,
    /// removed while an overlay covers the panes or the terminal is too small.
    private func placeImage(_ context: RenderContext, width: Int, height: Int) {
        var wanted: PlacedImage?
        if state.overlay == nil, !state.isASCII, width >= ConsoleView.minimumWidth, height >= ConsoleView.minimumHeight,
           let input = state.inspected, let pane = ConsoleView.layout(width: width, height: height)[.inspector] {
            let background = if case .rgb(let c) = theme[.mainBg] { c } else { RGB(0, 0, 0) }
            wanted = if let zoom = state.zoom {
                InspectorPane.placedImage(input.cropped(to: zoom.window), state, context, area: ZoomView.imageArea(width: width, height: height),
                                          cell: cellPixels, background: background)
            } else {
                InspectorPane.placedImages(input, state, context, area: InspectorPane.imageArea(content: pane.inset(by: 1)),
                                          cell: cellPixels, background: background)
            }
        }
        do {
            show(try placer.update(wanted))
        } catch {
            show(placer.clear())
            placer = ImagePlacer(graphics: .blocks)
            state.status = "\(error); half blocks instead"
            screen.invalidate()
            draw()
        }
    }

    private func show(_ update: PlacementUpdate) {
        screen.repaint(update.repaint)
        screen.writeRaw(update.bytes)
    }

    /// Loads the theme the `t` key moved to and names what `t` or `c` changed; the colormap
    /// itself and the depth are read at each draw.
    private func applyAppearance() {
        if state.colormapIndex != appliedColormapIndex {
            appliedColormapIndex = state.colormapIndex
            state.status = "colormap \(colormaps[min(state.colormapIndex, colormaps.count - 1)].name)"
        }
        guard state.themeIndex != appliedThemeIndex, state.themeNames.indices.contains(state.themeIndex) else { return }
        appliedThemeIndex = state.themeIndex
        let (loaded, error) = library.themeOrDefault(state.themeNames[state.themeIndex])
        theme = loaded
        state.status = error.map { "\($0) — using the default" } ?? "theme \(loaded.name)"
    }

    /// Scoring ends with the batch in hand and training is asked to stop (its checkpoint is
    /// written) before the terminal is given back.
    private func shutDown() {
        for worker in [scorer, comparisonScorer].compactMap({ $0 }) + retiredScorers { worker.cancelAndWait() }
        if let watcher {
            state.overlay = nil
            state.status = "finishing the image in hand and closing the watch log…"
            draw()
            watcher.stopAndWait()
        }
        guard let training else { return }
        state.overlay = nil
        state.status = "stopping training and saving its checkpoint…"
        draw()
        _ = training.stopAndWait(timeout: 120)
    }

    /// "dir" if it is absent or empty, else the first such "dir-2", "dir-3", …
    static func freshFolder(_ base: String) -> String {
        func free(_ p: String) -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).isEmpty
        }
        if free(base) { return base }
        var n = 2
        while !free("\(base)-\(n)") { n += 1 }
        return "\(base)-\(n)"
    }
}

public enum ConsoleError: Error, CustomStringConvertible {
    case trainingNeedsData

    public var description: String {
        switch self {
        case .trainingNeedsData: return "--train needs a dataset: stpm console DATA --model NEW_DIR --train"
        }
    }
}
