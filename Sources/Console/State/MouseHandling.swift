/// A mouse report, decoded from curses by `Screen` (cells, 0-based).
public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case press, release, drag, wheelUp, wheelDown }
    public var kind: Kind
    public var x: Int, y: Int

    public init(_ kind: Kind, x: Int, y: Int) {
        self.kind = kind; self.x = x; self.y = y
    }
}

extension ConsoleState {
    /// A press focuses the pane under it and selects the image clicked in the list; the wheel moves
    /// through the list (or scales a zoomed image); pressing or dragging in the threshold histogram puts
    /// the threshold there. Overlays take keys only.
    mutating func handleMouse(_ event: MouseEvent) -> ConsoleCommand? {
        guard overlay == nil else { return nil }
        if zoom != nil {
            if event.kind == .wheelUp { zoom?.magnify(by: 1.5) }
            if event.kind == .wheelDown { zoom?.magnify(by: 1 / 1.5) }
            return nil
        }
        guard screenWidth >= ConsoleView.minimumWidth, screenHeight >= ConsoleView.minimumHeight,
              let (pane, frame) = ConsoleView.layout(width: screenWidth, height: screenHeight)
                .first(where: { $0.value.contains(x: event.x, y: event.y) }) else { return nil }
        let content = frame.inset(by: 1)
        switch event.kind {
        case .wheelUp, .wheelDown:
            guard pane == .dataset || pane == .inspector else { return nil }
            return apply(event.kind == .wheelUp ? .moveUp : .moveDown)
        case .press, .drag:
            if event.kind == .press { focus = pane }
            if pane == .threshold, let (slot, value) = ThresholdPane().hit(atX: event.x, y: event.y, self, content: content) {
                thresholdFocus = slot
                setThreshold(value, of: slot)
            }
            if pane == .dataset, event.kind == .press, let index = DatasetPane().rowIndex(atY: event.y, self, content: content) {
                selected = index
                return selectedRow.map { .inspect(imageID: $0.id) }
            }
        case .release: break
        }
        return nil
    }
}
