import Foundation
import Detection

extension ConsoleApp {
    /// Puts one event through the state's update and runs the commands it returns.
    func send(_ event: ConsoleEvent) {
        for command in state.update(event) { perform(command) }
    }

    /// Applies what the workers reported since the last call; true when anything changed.
    func drainEvents() -> Bool {
        let batch = events.drain()
        for event in batch {
            if case .trainingEnded = event { training = nil }
            if case .watched(let record, _) = event, let live = state.live {
                dataset.append(watched: record.path, id: state.nextLiveID, keep: live.rowsKept)
            }
            send(.engine(event))
        }
        return !batch.isEmpty
    }
}
