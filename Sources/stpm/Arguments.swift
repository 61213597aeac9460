import ArgumentParser
import Backbones
import Detection

// Enums the command line takes by name: ArgumentParser checks the value, names the choices in its
// error and lists them in --help, so no command parses these strings itself.
extension BackboneKind: ExpressibleByArgument {}
extension DemoTexture: ExpressibleByArgument {}

/// Comma-separated names of an enum's cases, e.g. --backbones resnet18,efficientnet-lite0.
func commaSeparated<T: ExpressibleByArgument>(_ text: String) throws -> [T] {
    try text.split(separator: ",").map { name in
        guard let value = T(argument: String(name)) else {
            throw ValidationError("unknown value '\(name)'; choose from \(T.allValueStrings.joined(separator: ", "))")
        }
        return value
    }
}
