/// The colour roles panes draw with. Names are the keys in `Themes/*.theme` files.
public enum ThemeKey: String, CaseIterable, Sendable {
    case mainBg = "main_bg", mainFg = "main_fg", title, hiFg = "hi_fg"
    case selectedBg = "selected_bg", selectedFg = "selected_fg", inactiveFg = "inactive_fg"
    case divLine = "div_line", focusLine = "focus_line", keyFg = "key_fg"
    case good, defect, flagged
    case level1, level2, level3, total
    case threshold, histNormal = "hist_normal", histDefect = "hist_defect"
    case predMask = "pred_mask", gtMask = "gt_mask"
}

public struct Theme: Equatable, Sendable {
    public var name: String
    public private(set) var colors: [ThemeKey: CellColor]

    /// Keys a file leaves out take the built-in default's value, as in btop, so a theme can
    /// override only what it cares about.
    public init(name: String, overriding colors: [ThemeKey: CellColor] = [:]) {
        self.name = name
        self.colors = Theme.builtinColors.merging(colors) { _, new in new }
    }

    public subscript(key: ThemeKey) -> CellColor { colors[key] ?? .terminalDefault }

    /// Foreground `key` on the theme's main background.
    public func style(_ key: ThemeKey, _ attributes: CellAttributes = []) -> CellStyle {
        CellStyle(fg: self[key], bg: self[.mainBg], attributes: attributes)
    }

    public var selectedStyle: CellStyle {
        CellStyle(fg: self[.selectedFg], bg: self[.selectedBg], attributes: [.bold])
    }

    /// Used when no theme file can be read at all (an installed binary without its Themes
    /// directory). `Themes/default.theme` must say the same; a test keeps them in step.
    public static let builtin = Theme(name: "default")

    private static let builtinColors: [ThemeKey: CellColor] = {
        let hex: [ThemeKey: String] = [
            .mainBg: "", .mainFg: "#cccccc", .title: "#eeeeee", .hiFg: "#5fafff",
            .selectedBg: "#264f78", .selectedFg: "#ffffff", .inactiveFg: "#6c6c6c",
            .divLine: "#4e4e4e", .focusLine: "#5fafff", .keyFg: "#ffaf00",
            .good: "#5fd75f", .defect: "#ff5f5f", .flagged: "#ffd700",
            .level1: "#5fafff", .level2: "#af87ff", .level3: "#5fd7af", .total: "#ffffff",
            .threshold: "#ffd700", .histNormal: "#5f87af", .histDefect: "#d75f5f",
            .predMask: "#ff0000", .gtMask: "#ffffff",
        ]
        return hex.mapValues { $0.isEmpty ? .terminalDefault : .rgb(RGB(hex: $0)!) }
    }()
}
