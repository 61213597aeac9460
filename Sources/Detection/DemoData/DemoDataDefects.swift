import Numerics
import Foundation
import ImageIO

/// The synthetic defects of the demo dataset; the raw value is the test/ and ground_truth/ folder name.
public enum DemoDefect: String, CaseIterable, Sendable {
    /// A thin curved stroke, lighter or darker than the surface.
    case scratch
    /// A dark pit with a shadowed near wall and a lit far rim.
    case hole
    /// An irregular translucent blot of colour (rust, oil, moss, paint) over the surface's relief.
    case stain
    /// A Perlin-noise-shaped patch of another surface blended in, as DRAEM makes its training anomalies.
    case foreign
}

public enum DefectSynthesis {
    /// Draws one `kind` defect over `clean` (RGB) and returns the result with its mask (gray, 0 or 255).
    /// `foreign` is the other surface (RGB, same size) that `.foreign` blends in.
    ///
    /// The mask is where the defect covers at least half a pixel. The image changes only there and on the
    /// anti-aliased rim at most one pixel around it, so the mask accounts for every changed pixel.
    public static func apply(_ kind: DemoDefect, to clean: Image8, foreign: Image8,
                             rng: inout SplitMix64) -> (image: Image8, mask: Image8) {
        precondition(clean.channels == 3 && foreign.channels == 3, "defects are drawn on RGB images")
        precondition(clean.width == foreign.width && clean.height == foreign.height, "foreign surface of another size")
        precondition(min(clean.width, clean.height) >= 32, "image too small for a visible defect")
        let pixels = clean.width * clean.height
        // Small enough for a thin scratch, large enough that a defect is never a speck; a foreign patch
        // or stain covering much of the image would be a different surface rather than a defect.
        let areas = max(12, pixels / 500)...(pixels * 3 / 10)
        // Random shapes occasionally fall outside the area bounds (a noise field that leaves nothing, a
        // scratch mostly off the edge); drawing again from the same generator keeps the result deterministic.
        while true {
            let layer: Layer
            switch kind {
            case .scratch: layer = scratch(clean, &rng)
            case .hole: layer = hole(clean, &rng)
            case .stain: layer = stain(clean, &rng)
            case .foreign: layer = foreignPatch(clean, foreign, &rng)
            }
            if let result = composite(clean, layer, areas: areas) { return result }
        }
    }

    /// How much of each pixel the defect covers (0...1) and the colour it shows there.
    struct Layer {
        var coverage: [Float]
        var colour: [Float]

        init(pixels: Int) {
            coverage = [Float](repeating: 0, count: pixels)
            colour = [Float](repeating: 0, count: pixels * 3)
        }
    }

    static func composite(_ clean: Image8, _ layer: Layer, areas: ClosedRange<Int>) -> (image: Image8, mask: Image8)? {
        let w = clean.width, h = clean.height
        var mask = Image8(width: w, height: h, channels: 1)
        var area = 0
        for i in 0..<w * h where layer.coverage[i] >= 0.5 {
            mask.pixels[i] = 255
            area += 1
        }
        guard areas.contains(area) else { return nil }
        var image = clean
        for y in 0..<h {
            for x in 0..<w {
                let i = y * w + x
                let alpha = layer.coverage[i]
                guard alpha > 0 else { continue }
                // A sliver under half a pixel wide has no mask pixel of its own; dropping it keeps every
                // changed pixel next to the mask.
                guard mask.pixels[i] != 0 || touchesMask(mask, x, y) else { continue }
                for c in 0..<3 {
                    let base = Float(clean.pixels[3 * i + c])
                    image.pixels[3 * i + c] = byte(base + (layer.colour[3 * i + c] - base) * alpha)
                }
            }
        }
        return (image, mask)
    }

    private static func touchesMask(_ mask: Image8, _ x: Int, _ y: Int) -> Bool {
        for ny in max(0, y - 1)...min(mask.height - 1, y + 1) {
            for nx in max(0, x - 1)...min(mask.width - 1, x + 1) where mask.pixels[ny * mask.width + nx] != 0 {
                return true
            }
        }
        return false
    }

    // MARK: Scratch

    static func scratch(_ clean: Image8, _ rng: inout SplitMix64) -> Layer {
        let w = clean.width, h = clean.height, side = Float(min(w, h))
        let scale = side / 128
        let length = side * rng.uniform(0.3, 0.7)
        let angle = rng.uniform(0, 2 * .pi)
        let (dx, dy) = (cos(angle), sin(angle))
        let (nx, ny) = (-dy, dx)
        let cx = Float(w) * rng.uniform(0.2, 0.8), cy = Float(h) * rng.uniform(0.2, 0.8)
        let p0 = (x: cx - dx * length / 2, y: cy - dy * length / 2)
        let p3 = (x: cx + dx * length / 2, y: cy + dy * length / 2)
        let bend1 = length * rng.uniform(-0.25, 0.25), bend2 = length * rng.uniform(-0.25, 0.25)
        let p1 = (x: p0.x + dx * length / 3 + nx * bend1, y: p0.y + dy * length / 3 + ny * bend1)
        let p2 = (x: p0.x + dx * length * 2 / 3 + nx * bend2, y: p0.y + dy * length * 2 / 3 + ny * bend2)
        let points: [(x: Float, y: Float)] = (0...64).map { k in
            let t = Float(k) / 64, u = 1 - t
            let a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, d = t * t * t
            return (a * p0.x + b * p1.x + c * p2.x + d * p3.x, a * p0.y + b * p1.y + c * p2.y + d * p3.y)
        }
        let halfWidth = scale * rng.uniform(0.8, 1.6)
        // Freshly scratched stone shows lighter material; some scratches are grooves that catch shadow.
        let light = rng.nextUnit() < 0.7
        let strength = rng.uniform(0.7, 0.9)

        var layer = Layer(pixels: w * h)
        let reach = halfWidth + 1
        let x0 = max(0, Int((points.map(\.x).min()! - reach).rounded(.down)))
        let x1 = min(w - 1, Int((points.map(\.x).max()! + reach).rounded(.up)))
        let y0 = max(0, Int((points.map(\.y).min()! - reach).rounded(.down)))
        let y1 = min(h - 1, Int((points.map(\.y).max()! + reach).rounded(.up)))
        guard x0 <= x1 && y0 <= y1 else { return layer }
        for y in y0...y1 {
            for x in x0...x1 {
                let px = Float(x) + 0.5, py = Float(y) + 0.5
                // Coverage of a pixel by a band of half-width r at distance d is close to r + 1/2 - d; the
                // band tapers towards both ends, as a stroke that bites in and lifts off.
                var best: Float = 0
                for k in 1..<points.count {
                    let taper = 0.4 + 0.6 * sin(Float.pi * (Float(k) - 0.5) / Float(points.count - 1))
                    best = max(best, halfWidth * taper + 0.5 - segmentDistance(px, py, points[k - 1], points[k]))
                }
                let coverage = min(1, best)
                guard coverage > 0 else { continue }
                let i = y * w + x
                layer.coverage[i] = coverage
                for c in 0..<3 {
                    let base = Float(clean.pixels[3 * i + c])
                    let target: Float = light ? [240, 236, 228][c] : base * 0.25
                    layer.colour[3 * i + c] = base + (target - base) * strength
                }
            }
        }
        return layer
    }

    private static func segmentDistance(_ px: Float, _ py: Float, _ a: (x: Float, y: Float), _ b: (x: Float, y: Float)) -> Float {
        let vx = b.x - a.x, vy = b.y - a.y
        let lengthSquared = vx * vx + vy * vy
        let t = lengthSquared > 0 ? min(1, max(0, ((px - a.x) * vx + (py - a.y) * vy) / lengthSquared)) : 0
        let ex = px - (a.x + t * vx), ey = py - (a.y + t * vy)
        return (ex * ex + ey * ey).squareRoot()
    }

    // MARK: Hole

    static func hole(_ clean: Image8, _ rng: inout SplitMix64) -> Layer {
        let w = clean.width, h = clean.height, side = Float(min(w, h))
        let radius = side * rng.uniform(0.06, 0.11)
        let cx = rng.uniform(radius + 2, Float(w) - radius - 2), cy = rng.uniform(radius + 2, Float(h) - radius - 2)
        let stretch = rng.uniform(0.75, 1.25), tilt = rng.uniform(0, .pi)
        let (ct, st) = (cos(tilt), sin(tilt))
        let a1 = rng.uniform(0, 0.12), phase1 = rng.uniform(0, 2 * .pi)
        let a2 = rng.uniform(0, 0.06), phase2 = rng.uniform(0, 2 * .pi)
        // Distance from the centre relative to the wobbly rim: below 1 inside the pit.
        func depth(_ x: Float, _ y: Float) -> Float {
            let rx = x - cx, ry = y - cy
            let u = (rx * ct + ry * st) / stretch, v = (-rx * st + ry * ct) * stretch
            let theta = atan2(v, u)
            let rim = radius * (1 + a1 * sin(2 * theta + phase1) + a2 * sin(3 * theta + phase2))
            return (u * u + v * v).squareRoot() / rim
        }

        var layer = Layer(pixels: w * h)
        let reach = radius * 1.6 + 2
        let light = (x: Float(0.5).squareRoot(), y: Float(0.5).squareRoot())
        forEachCovered(width: w, height: h, around: cx, cy, reach: reach, samples: 4, { depth($0, $1) < 1 }) { x, y, coverage in
            let px = Float(x) + 0.5, py = Float(y) + 0.5
            let u = min(1, depth(px, py))
            let rx = px - cx, ry = py - cy
            let norm = max(1e-3, (rx * rx + ry * ry).squareRoot())
            // Light from the upper left: the far (lower-right) wall faces it, the near wall is in shadow.
            let facing = (rx * light.x + ry * light.y) / norm
            let shade = (0.12 + 0.5 * u * u) * (1 + 0.6 * u * facing)
            let highlight = 70 * pow(u, 6) * max(0, facing)
            let i = y * w + x
            layer.coverage[i] = coverage
            for c in 0..<3 {
                layer.colour[3 * i + c] = Float(clean.pixels[3 * i + c]) * shade + highlight
            }
        }
        return layer
    }

    // MARK: Stain

    static func stain(_ clean: Image8, _ rng: inout SplitMix64) -> Layer {
        let w = clean.width, h = clean.height, side = Float(min(w, h))
        let radius = side * rng.uniform(0.08, 0.18)
        let cx = rng.uniform(radius / 2, Float(w) - radius / 2), cy = rng.uniform(radius / 2, Float(h) - radius / 2)
        let outline = PerlinNoise(rng: &rng), thickness = PerlinNoise(rng: &rng)
        let cell = radius * rng.uniform(0.5, 0.9)
        let palette: [(Float, Float, Float)] = [(0.66, 0.36, 0.16), (0.16, 0.15, 0.14), (0.36, 0.50, 0.20), (0.30, 0.45, 0.75)]
        let tone = palette[Int(rng.next() % UInt64(palette.count))]
        let opacity = rng.uniform(0.55, 0.8)
        func inside(_ x: Float, _ y: Float) -> Bool {
            let d = ((x - cx) * (x - cx) + (y - cy) * (y - cy)).squareRoot() / radius
            return d + 0.45 * outline.fractal(x / cell, y / cell, octaves: 2) < 1
        }

        var layer = Layer(pixels: w * h)
        let reach = radius * 1.5 + 2
        let pigment = [tone.0, tone.1, tone.2]
        forEachCovered(width: w, height: h, around: cx, cy, reach: reach, samples: 3, inside) { x, y, coverage in
            let px = Float(x) + 0.5, py = Float(y) + 0.5
            let i = y * w + x
            let r = Float(clean.pixels[3 * i]), g = Float(clean.pixels[3 * i + 1]), b = Float(clean.pixels[3 * i + 2])
            // The stain darkens with the relief under it instead of painting it flat.
            let relief = 0.45 + 0.55 * (0.299 * r + 0.587 * g + 0.114 * b) / 255
            let o = min(0.9, max(0.45, opacity + 0.25 * thickness.value(px / cell, py / cell)))
            layer.coverage[i] = coverage
            for c in 0..<3 {
                let base = Float(clean.pixels[3 * i + c])
                layer.colour[3 * i + c] = base + (pigment[c] * 255 * relief - base) * o
            }
        }
        return layer
    }

    // MARK: Foreign surface

    static func foreignPatch(_ clean: Image8, _ foreign: Image8, _ rng: inout SplitMix64) -> Layer {
        let w = clean.width, h = clean.height, side = Float(min(w, h))
        let radius = side * rng.uniform(0.12, 0.25)
        let cx = rng.uniform(0, Float(w)), cy = rng.uniform(0, Float(h))
        let noise = PerlinNoise(rng: &rng)
        let cell = side * rng.uniform(0.06, 0.15)
        // DRAEM blends the foreign image with a random weight; kept high enough here to be seen.
        let opacity = rng.uniform(0.7, 1)
        func inside(_ x: Float, _ y: Float) -> Bool {
            let d = ((x - cx) * (x - cx) + (y - cy) * (y - cy)).squareRoot() / radius
            return d + 0.9 * noise.fractal(x / cell, y / cell, octaves: 3) < 1
        }

        var layer = Layer(pixels: w * h)
        // Three octaves stay within about 1.25 of zero, so the patch never reaches past 2.2 radii.
        let reach = radius * 2.2 + 2
        forEachCovered(width: w, height: h, around: cx, cy, reach: reach, samples: 3, inside) { x, y, coverage in
            let i = y * w + x
            layer.coverage[i] = coverage
            for c in 0..<3 {
                let base = Float(clean.pixels[3 * i + c])
                layer.colour[3 * i + c] = base + (Float(foreign.pixels[3 * i + c]) - base) * opacity
            }
        }
        return layer
    }

    /// Calls `body` with each pixel within `reach` of (cx, cy) that `inside` covers, and that coverage.
    private static func forEachCovered(width w: Int, height h: Int, around cx: Float, _ cy: Float, reach: Float, samples: Int,
                                       _ inside: (Float, Float) -> Bool, _ body: (_ x: Int, _ y: Int, _ coverage: Float) -> Void) {
        for y in max(0, Int(cy - reach))...min(h - 1, Int(cy + reach)) {
            for x in max(0, Int(cx - reach))...min(w - 1, Int(cx + reach)) {
                let coverage = supersampled(x, y, samples: samples, inside)
                if coverage > 0 { body(x, y, coverage) }
            }
        }
    }

    /// The fraction of an n x n grid of points in pixel (x, y) where `inside` holds: anti-aliased coverage.
    private static func supersampled(_ x: Int, _ y: Int, samples n: Int, _ inside: (Float, Float) -> Bool) -> Float {
        var hits = 0
        for sy in 0..<n {
            for sx in 0..<n where inside(Float(x) + (Float(sx) + 0.5) / Float(n), Float(y) + (Float(sy) + 0.5) / Float(n)) {
                hits += 1
            }
        }
        return Float(hits) / Float(n * n)
    }

    private static func byte(_ v: Float) -> UInt8 { UInt8(min(255, max(0, v)).rounded()) }
}
