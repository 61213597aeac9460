/// What panes draw with besides the state: the active theme, colormap and output mode.
public struct RenderContext: Sendable {
    public var theme: Theme
    public var colormap: Colormap
    public var keymap: Keymap
    /// Images go through a terminal graphics protocol: panes leave their image areas blank.
    public var pixelGraphics: Bool

    public init(theme: Theme, colormap: Colormap, keymap: Keymap = .standard, pixelGraphics: Bool = false) {
        self.theme = theme; self.colormap = colormap; self.keymap = keymap; self.pixelGraphics = pixelGraphics
    }
}

/// A pane renders a `ConsoleState` into the inside of its frame; `ConsoleView` draws the
/// frame, title and focus. Panes hold no state of their own, so tests render them directly.
public protocol Pane: Sendable {
    var id: PaneID { get }
    func draw(_ state: ConsoleState, _ context: RenderContext, into grid: inout CellGrid, content: Rect)
}

extension ConsoleState {
    /// ASCII ramp instead of colour for images and curve fills.
    public var isASCII: Bool { colorDepth == .monochrome }
}
