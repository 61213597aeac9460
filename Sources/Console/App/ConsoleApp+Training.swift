import Foundation
import Detection
import Backbones

extension ConsoleApp {
    /// Offers to resume the open model when its run stopped early, else a new folder.
    func openTrainingForm() {
        guard datasetRoot != nil else {
            state.overlay = .message("Training needs a dataset: stpm console DATA [--model MODEL]")
            return
        }
        var o = options.training
        let modelPath = state.modelPath
        var target = Self.freshFolder(modelPath.map { $0 + "-retrained" } ?? "stpm-model")
        var resume = false
        if let modelPath, state.training.phase == .idle, TrainingSession.folderState(ModelStore(path: modelPath)) == .stopped,
           let stored = try? TrainingSession.storedOptions(ModelStore(path: modelPath)) {
            o = stored
            target = modelPath
            resume = true
        }
        state.overlay = .trainingForm(TrainingForm(fields: [
            .init("model", target, help: "Folder to train into (new, or the stopped run when resuming)"),
            .init("backbone", o.backbone.rawValue, help: BackboneKind.allCases.map(\.rawValue).joined(separator: ", ")),
            .init("size", String(o.size), help: "Input size in pixels, a multiple of 16 (256 is the STPM recipe)"),
            .init("epochs", String(o.epochs), help: "Passes over the normal training images"),
            .init("batch", String(o.batchSize), help: "Images per step"),
            .init("lr", String(o.learningRate), help: "SGD learning rate (0.4 is the STPM recipe)"),
            .init("resume", resume ? "yes" : "no", help: "yes continues the stopped run in the model folder"),
        ]))
    }

    func submitTrainingForm(_ form: TrainingForm) {
        var refused = form
        do {
            var o = options.training
            guard let kind = BackboneKind(rawValue: form["backbone"]) else {
                throw TrainingError.badOption("backbone must be one of \(BackboneKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            o.backbone = kind
            func number<T: LosslessStringConvertible>(_ name: String) throws -> T {
                guard let v = T(form[name].trimmingCharacters(in: .whitespaces)) else { throw TrainingError.badOption("\(name) must be a number") }
                return v
            }
            o.size = try number("size")
            o.epochs = try number("epochs")
            o.batchSize = try number("batch")
            o.learningRate = try number("lr")
            try o.validate()
            let path = form["model"].trimmingCharacters(in: .whitespaces)
            let resume = form["resume"].lowercased().hasPrefix("y")
            guard !path.isEmpty else { throw TrainingError.badOption("give a model folder") }
            try TrainingSession.check(store: ModelStore(path: path), imageCount: trainImages.count, options: o, resume: resume)
            startTraining(o, into: path, resume: resume)
        } catch {
            refused.error = "\(error)"
            state.overlay = .trainingForm(refused)
        }
    }

    /// The curves start from the logs of a resumed run and grow with each step event.
    func startTraining(_ o: TrainingOptions, into path: String, resume: Bool) {
        let runner = TrainingRunner(imagePaths: trainImages, options: o, modelPath: path, resume: resume, events: events)
        training = runner
        runner.start()
        send(.engine(.trainingStarted(modelPath: path, epochs: o.epochs,
                                      replay: resume ? TrainingSession.replay(ModelStore(path: path)) : nil)))
    }

    private var trainImages: [String] { dataset.samples.filter { $0.split == .train }.map(\.path) }
}
