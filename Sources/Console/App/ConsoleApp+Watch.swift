import Foundation
import Detection

extension ConsoleApp {
    /// Starts the watcher of the live view (`--watch`) with the model that is open.
    func startWatching(_ folders: [String], model: String) {
        let options = WatchOptions(folders: folders, log: self.options.watchLog ?? WatchOptions.defaultLog(model: model, folders: folders))
        let worker = WatchWorker(modelPath: model, options: options, events: events)
        watcher = worker
        state.live = LiveWatchStatus(folders: folders, bell: self.options.bell)
        state.sort = .arrival
        state.scope = ""
        worker.start()
    }
}
