/// An image composed for a rectangle of cells (already at the rectangle's pixel size).
public struct PlacedImage: Equatable, Sendable {
    public var image: PixelImage
    public var cells: Rect

    public init(image: PixelImage, cells: Rect) {
        self.image = image; self.cells = cells
    }
}

/// What the screen must do after the cell grid is flushed to change the image on screen.
public struct PlacementUpdate: Equatable, Sendable {
    /// Lines curses must repaint first: sixel and iTerm2 images are pixels in the cells, erased only by
    /// drawing the cells again.
    public var repaint: [Rect] = []
    public var bytes: [UInt8] = []
}

/// Keeps the terminal's images in step with what the console wants shown: nothing is sent while the
/// wanted image stays the same, a changed one replaces the old, and `clear` removes what is left
/// (selection change, overlay, resize, quit). Pure: it returns bytes, the screen writes them.
public struct ImagePlacer: Sendable {
    public let graphics: GraphicsProtocol
    /// Wrap sequences for tmux's passthrough (an explicit choice of a protocol inside tmux).
    public let throughTmux: Bool
    private(set) var shown: PlacedImage?
    private var shownID: UInt32 = 0
    private var nextID: UInt32

    public init(graphics: GraphicsProtocol, throughTmux: Bool = false, firstID: UInt32 = 0x5354_0001) {
        self.graphics = graphics; self.throughTmux = throughTmux; nextID = firstID
    }

    /// Shows `wanted` (nil: no image) in place of what is shown.
    public mutating func update(_ wanted: PlacedImage?) throws -> PlacementUpdate {
        guard graphics.drawsPixels, wanted != shown else { return PlacementUpdate() }
        guard let wanted else { return clear() }
        var update = PlacementUpdate()
        let id = nextID
        nextID &+= 1
        let sequence: [UInt8]
        switch graphics {
        case .kitty: sequence = TerminalImageSequences.kitty(png: try TerminalImageSequences.png(wanted.image), id: id, cells: wanted.cells)
        case .iterm: sequence = TerminalImageSequences.iterm(png: try TerminalImageSequences.png(wanted.image), cells: wanted.cells)
        default: sequence = try TerminalImageSequences.sixel(wanted.image)
        }
        if graphics != .kitty, let old = shown { update.repaint.append(old.cells) }
        update.bytes = TerminalImageSequences.positioned(wanted.cells, wrap(sequence))
        // kitty: the new image is up before the old one goes, so nothing blinks.
        if graphics == .kitty, shown != nil { update.bytes += wrap(TerminalImageSequences.kittyDelete(id: shownID)) }
        shown = wanted
        shownID = id
        return update
    }

    /// Removes the image on screen, if any.
    public mutating func clear() -> PlacementUpdate {
        guard let old = shown else { return PlacementUpdate() }
        shown = nil
        return graphics == .kitty ? PlacementUpdate(bytes: wrap(TerminalImageSequences.kittyDelete(id: shownID)))
                                  : PlacementUpdate(repaint: [old.cells])
    }

    private func wrap(_ sequence: [UInt8]) -> [UInt8] {
        throughTmux ? TerminalImageSequences.tmuxPassthrough(sequence) : sequence
    }
}
