import Foundation
import Detection

extension ConsoleApp {
    /// Starts the watcher of the live view (`--watch`) with the model that is open.
    func startWatching(_ folders: [String], model: String) {
        let options = WatchOptions(folders: folders, log: self.options.watchLog ?? WatchOptions.defaultLog(model: model, folders: folders))
        let worker = WatchWorker(modelPath: model, options: options, events: events)
        watcher = worker
        liveThreshold = state.threshold
        state.live = LiveWatchStatus(folders: folders, bell: self.options.bell)
        state.sort = .arrival
        state.scope = ""
        worker.start()
    }

    /// Threshold keys act on the images scored from now on; what is listed recolours by itself.
    func syncLiveThreshold() {
        guard let watcher, state.threshold != liveThreshold else { return }
        liveThreshold = state.threshold
        watcher.setThreshold(Float(state.threshold))
    }
}
