/// The dialog that starts a training run: the main `stpm train` options as editable text.
/// The app fills in defaults and parses the values when the form is submitted.
public struct TrainingForm: Equatable, Sendable {
    public struct Field: Equatable, Sendable {
        public var name: String
        public var value: String
        public var help: String

        public init(_ name: String, _ value: String, help: String) {
            self.name = name; self.value = value; self.help = help
        }
    }

    public var fields: [Field]
    public var focused = 0
    /// Why the last submission was refused, shown under the fields.
    public var error: String?

    public init(fields: [Field]) { self.fields = fields }

    public subscript(name: String) -> String {
        fields.first { $0.name == name }?.value ?? ""
    }

    public enum Outcome { case editing, submit, cancel }

    /// Every printable key is text here (a model path may contain "q"), so only Esc leaves.
    public mutating func handle(_ key: Key) -> Outcome {
        switch key {
        case .enter: return .submit
        case .escape: return .cancel
        case .down, .tab: focused = (focused + 1) % fields.count
        case .up, .backTab: focused = (focused + fields.count - 1) % fields.count
        case .backspace: if !fields[focused].value.isEmpty { fields[focused].value.removeLast() }
        case .char(let c): fields[focused].value.append(c)
        default: break
        }
        return .editing
    }
}
