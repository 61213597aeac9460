import Crypto
import Foundation
import ImageIO
import Numerics
import Backbones

/// The real photographs the demo dataset is cut from: scikit-image's CC0 sample textures (512x512 gray),
/// which `scripts/fetch-textures` takes out of a hash-pinned wheel into `$STPM_HOME/textures`.
public enum DemoTexture: String, CaseIterable, Sendable {
    case brick, gravel, grass

    public var fileName: String { rawValue + ".png" }

    /// The same pins as scripts/fetch-textures: a seed only reproduces a dataset from the same photos.
    public var sha256: String {
        switch self {
        case .brick: return "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf"
        case .grass: return "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89"
        case .gravel: return "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12"
        }
    }

    /// A mild colour for the gray photo, so that stains and foreign patches differ in hue as well as in
    /// brightness and a heatmap overlay stands out against the surface.
    var tint: (r: Float, g: Float, b: Float) {
        switch self {
        case .gravel: return (1.0, 0.93, 0.80)
        case .grass: return (0.78, 1.0, 0.62)
        case .brick: return (1.0, 0.74, 0.62)
        }
    }

    /// Gravel and grass look alike in every orientation, so flipped and rotated crops add variety without
    /// leaving the normal distribution; the brick photo has a perspective and a direction, and does not.
    var isotropic: Bool { self != .brick }

    public static var defaultDirectory: String { TeacherWeights.home + "/textures" }
}

public enum DemoDataError: Error, CustomStringConvertible, Equatable {
    case textureMissing(String)
    case textureChanged(path: String, sha256: String)
    case textureTooSmall(String)
    case noForeignTexture
    case outputExists(String)

    public var description: String {
        switch self {
        case .textureMissing(let path):
            return "\(path) does not exist: run scripts/fetch-textures to fetch the demo photographs"
        case .textureChanged(let path, let sha):
            return "\(path) is not the pinned photograph (sha256 \(sha)): run scripts/fetch-textures to restore it"
        case .textureTooSmall(let what): return "photograph \(what) is smaller than one crop"
        case .noForeignTexture: return "the foreign-texture defect needs a second photograph besides the dataset's own"
        case .outputExists(let path): return "\(path) already exists: remove it or choose another --out"
        }
    }
}

public enum DemoPhotos {
    /// All three photographs, gray, each checked against its pin before it is decoded.
    public static func load(directory: String = DemoTexture.defaultDirectory) throws -> [DemoTexture: Image8] {
        var photos: [DemoTexture: Image8] = [:]
        for texture in DemoTexture.allCases {
            let path = directory + "/" + texture.fileName
            guard FileManager.default.fileExists(atPath: path) else { throw DemoDataError.textureMissing(path) }
            let sha = try SHA256.hex(ofFile: path)
            guard sha == texture.sha256 else { throw DemoDataError.textureChanged(path: path, sha256: sha) }
            photos[texture] = try ImageReader.read(path: path, as: .gray)
        }
        return photos
    }
}
