/// The four panes; raw values are the digits that jump to them.
public enum PaneID: Int, CaseIterable, Sendable {
    case dataset = 1, training, inspector, threshold

    public var title: String {
        switch self {
        case .dataset: return "dataset"
        case .training: return "training"
        case .inspector: return "inspector"
        case .threshold: return "threshold"
        }
    }
}

/// A key press, decoded from curses codes by `Screen`.
public enum Key: Hashable, Sendable {
    case char(Character)
    case tab, backTab, enter, escape, backspace
    case up, down, left, right, pageUp, pageDown, home, end
    case function(Int)
    case ctrlC
    case resize
    case mouse(MouseEvent)

    /// How the key is written in hints and help.
    public var label: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "BS"
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .function(let n): return "F\(n)"
        case .ctrlC: return "^C"
        case .resize: return "resize"
        case .mouse: return "mouse"
        }
    }
}

public enum KeyAction: Hashable, Sendable {
    case focusNext, focusPrevious, focusPane(PaneID)
    case moveUp, moveDown, pageUp, pageDown, top, bottom
    case open, startFilter, toggleSort, toggleFlag, nextGroup, previousGroup
    case startTraining, pauseTraining, stopTraining, toggleLogScale
    case cycleInspectorView, toggleOutlines, cycleColorDepth, zoom
    case thresholdFineUp, thresholdFineDown, thresholdCoarseUp, thresholdCoarseDown
    case thresholdF1Optimal, thresholdPercentile, thresholdNoEscape, thresholdStored, saveThreshold
    case export, cycleTheme, cycleColormap, followNewest
    case toggleDisagreements, switchThresholdModel
    case help, back, quit, forceQuit
}

/// Where a binding applies: everywhere, or only while one of the listed panes has focus.
public enum KeyScope: Hashable, Sendable {
    case global
    case panes([PaneID])

    func includes(_ pane: PaneID) -> Bool {
        if case .panes(let ps) = self { return ps.contains(pane) }
        return true
    }
}

public struct KeyBinding: Sendable {
    public var keys: [Key]
    public var scope: KeyScope
    /// Shown in the bottom hint line; nil keeps a binding out of it (help still lists it).
    public var hint: String?
    public var description: String
    public var action: KeyAction

    public var keyLabel: String { keys.map(\.label).joined(separator: "/") }
}

/// The single table of keys: dispatch, the help overlay and the hint line all read it, so
/// what the user is told is what the console does.
public struct Keymap: Sendable {
    public var bindings: [KeyBinding]

    public init(bindings: [KeyBinding]) { self.bindings = bindings }

    /// Pane-scoped bindings win over global ones for the same key (Space pauses training in
    /// the training pane and toggles a flag in the list).
    public func action(for key: Key, focus: PaneID) -> KeyAction? {
        let matching = bindings.filter { $0.keys.contains(key) && $0.scope.includes(focus) }
        return (matching.first { $0.scope != .global } ?? matching.first)?.action
    }

    /// The focused pane's own keys first, then the global ones that carry a hint.
    public func hints(for pane: PaneID) -> [KeyBinding] {
        let local = bindings.filter { $0.scope != .global && $0.scope.includes(pane) && $0.hint != nil }
        return local + bindings.filter { $0.scope == .global && $0.hint != nil }
    }

    public static let standard = Keymap(bindings: {
        func b(_ keys: [Key], _ scope: KeyScope, _ hint: String?, _ description: String, _ action: KeyAction) -> KeyBinding {
            KeyBinding(keys: keys, scope: scope, hint: hint, description: description, action: action)
        }
        let list: KeyScope = .panes([.dataset, .inspector])
        return [
            b([.char("j"), .down], list, "move", "Next image", .moveDown),
            b([.char("k"), .up], list, nil, "Previous image", .moveUp),
            b([.pageDown], list, nil, "Page down", .pageDown),
            b([.pageUp], list, nil, "Page up", .pageUp),
            b([.char("g"), .home], list, nil, "First image", .top),
            b([.char("G"), .end], list, nil, "Last image", .bottom),
            b([.enter], .panes([.dataset]), "inspect", "Open the selected image in the inspector", .open),
            b([.char("/")], .panes([.dataset]), "filter", "Filter the list by name (Enter keeps, Esc clears)", .startFilter),
            b([.char("o")], .panes([.dataset]), "sort", "Sort by score or by name (and by arrival while watching)", .toggleSort),
            b([.char("n")], .global, nil, "While watching: the inspector follows the newest flagged image again", .followNewest),
            b([.right, .char("l")], .panes([.dataset]), "group", "Next folder of the tree (the list shows its images)", .nextGroup),
            b([.left, .char("h")], .panes([.dataset]), nil, "Previous folder of the tree", .previousGroup),
            b([.char(" ")], list, "flag", "Toggle a manual flag on the image", .toggleFlag),
            b([.enter], .panes([.training]), "start", "Start or resume training", .startTraining),
            b([.char(" ")], .panes([.training]), "pause", "Pause training", .pauseTraining),
            b([.char("x")], .panes([.training]), "stop", "Stop training", .stopTraining),
            b([.char("l")], .panes([.training]), "log", "Toggle log scale of the loss curves", .toggleLogScale),
            b([.char("v")], .panes([.inspector]), "view", "Cycle image / heatmap / overlay / predicted mask / ground truth", .cycleInspectorView),
            b([.char("m")], .panes([.inspector]), "outlines", "Toggle mask outlines", .toggleOutlines),
            b([.char("d")], .panes([.inspector]), "depth", "Cycle colour depth: direct / 256 / 16 / ASCII", .cycleColorDepth),
            b([.char("z")], list, "zoom", "Zoom the image to the whole terminal: arrows pan, +/- scale, a jumps to the peak anomaly, z back", .zoom),
            b([.char("+"), .char("=")], .global, "thr±", "Raise the threshold (fine step)", .thresholdFineUp),
            b([.char("-")], .global, nil, "Lower the threshold (fine step)", .thresholdFineDown),
            b([.char("]")], .global, nil, "Raise the threshold (coarse step)", .thresholdCoarseUp),
            b([.char("[")], .global, nil, "Lower the threshold (coarse step)", .thresholdCoarseDown),
            b([.char("f")], .global, nil, "Threshold at the F1-optimal point (needs labels)", .thresholdF1Optimal),
            b([.char("p")], .global, nil, "Threshold at a percentile of held-out normal scores", .thresholdPercentile),
            b([.char("r")], .global, nil, "No escapes: the highest threshold with recall 1, and what it costs (needs labels)", .thresholdNoEscape),
            b([.char("0")], .global, nil, "Back to the stored threshold", .thresholdStored),
            b([.char("s")], .global, nil, "Save the threshold", .saveThreshold),
            b([.char("M")], .global, nil, "With two models: threshold keys act on the other model", .switchThresholdModel),
            b([.char("D")], .global, nil, "With two models: list only the images one model flags and the other passes", .toggleDisagreements),
            b([.char("e")], .global, "export", "Export flagged images (asks first)", .export),
            b([.char("t")], .global, nil, "Next theme", .cycleTheme),
            b([.char("c")], .global, nil, "Next colormap", .cycleColormap),
            b([.tab], .global, "pane", "Focus the next pane", .focusNext),
            b([.backTab], .global, nil, "Focus the previous pane", .focusPrevious),
        ] + PaneID.allCases.map { b([.char(Character(String($0.rawValue)))], .global, nil, "Go to the \($0.title) pane", .focusPane($0)) } + [
            b([.char("?"), .function(1)], .global, "help", "This help", .help),
            b([.escape], .global, nil, "Back out (close dialog, clear filter)", .back),
            b([.char("q")], .global, "quit", "Close the overlay, or quit (asks while training)", .quit),
            b([.ctrlC], .global, nil, "Quit now", .forceQuit),
        ]
    }())
}
