import KilnData
import KilnIR
import KilnRuntime

/// Random changes to training examples (`kiln train --augment`), applied to each training
/// batch before its step and never to validation or test data. Every draw comes from the
/// counter-based generator keyed by (seed, step, example), so a run — and a resumed run — sees
/// the same augmented batches every time.
///
/// Images are read as H×W planes: the last two axes of an example, or a square for a flat
/// example (784 values are 28×28). Shifts move the image by up to `shift` pixels along each
/// axis, filling with zeros: exactly a random H×W crop of the image padded by `shift` zeros on
/// every side (torchvision's `RandomCrop(size, padding=N)`), so `crop=N` and `shift=N` are two
/// spellings of the same augmentation. Flips mirror it left–right with probability ½; noise
/// adds N(0, noise²) to every value.
public struct Augmentation: Sendable, Equatable {
    /// Largest shift in pixels, 0…(image size − 1).
    public var shift: Int
    public var flip: Bool
    /// Standard deviation of the added Gaussian noise (0: none).
    public var noise: Double

    public init(shift: Int = 0, flip: Bool = false, noise: Double = 0) {
        self.shift = shift
        self.flip = flip
        self.noise = noise
    }

    /// Parses `crop=2,flip,noise=0.05` (any subset, any order; `shift=N` is `crop=N`, and only
    /// one of them may be given). Ranges: crop/shift an integer in 0…64, noise finite in [0, 10].
    public static func parse(_ spec: String) throws -> Augmentation {
        var result = Augmentation()
        var seen = Set<String>()
        for item in spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let key = kv[0]
            guard seen.insert(key).inserted else { throw Diagnostic("augmentation '\(key)' is given twice") }
            switch (key, kv.count) {
            case ("flip", 1): result.flip = true
            case ("shift", 2), ("crop", 2):
                guard let v = Int(kv[1]), (0...64).contains(v) else {
                    throw Diagnostic("augmentation \(key)=\(kv[1]) is out of range: expected an integer in 0...64")
                }
                guard !seen.contains(key == "crop" ? "shift" : "crop") else {
                    throw Diagnostic("augmentation crop and shift are the same (a random crop of the zero-padded image); give one")
                }
                result.shift = v
            case ("noise", 2):
                guard let v = Double(kv[1]), v.isFinite, (0...10).contains(v) else {
                    throw Diagnostic("augmentation noise=\(kv[1]) is out of range: expected a number in [0, 10]")
                }
                result.noise = v
            default:
                throw Diagnostic("unknown augmentation '\(item)' (expected crop=N, shift=N, flip, noise=STD)")
            }
        }
        return result
    }

    /// The image plane (height, width) of examples shaped `exampleShape`, or an error naming it.
    public static func plane(_ exampleShape: [Int]) throws -> (Int, Int) {
        if exampleShape.count >= 2 { return (exampleShape[exampleShape.count - 2], exampleShape[exampleShape.count - 1]) }
        let n = exampleShape.first ?? 1
        var side = 1
        while side * side < n { side += 1 }
        guard side * side == n else {
            throw Diagnostic("--augment shift/flip need image examples (last two axes H, W, or a square number of values); examples are \(exampleShape)")
        }
        return (side, side)
    }

    /// The batch with every f32 array augmented (integer arrays — labels — untouched).
    public func apply(_ batch: Batch, seed: UInt64, step: Int) throws -> Batch {
        var result = batch
        for (name, array) in batch.arrays where array.dtype == .f32 {
            result.arrays[name] = try apply(array, count: batch.count, seed: seed ^ KilnRandom.hash(name), step: step)
        }
        return result
    }

    /// An augmented copy of `features` (f32, first axis the batch; rows ≥ `count` are padding
    /// and left alone), drawn from stream (seed, step).
    public func apply(_ features: Tensor, count: Int, seed: UInt64, step: Int) throws -> Tensor {
        guard features.dtype == .f32 else { return features }
        let dims = features.shape.dims
        let rows = Swift.min(count, dims.first ?? 0)
        let perExample = dims.dropFirst().reduce(1, *)
        let (h, w) = shift > 0 || flip ? try Self.plane(Array(dims.dropFirst())) : (1, perExample)
        guard shift < Swift.max(h, w) else { throw Diagnostic("--augment shift=\(shift) is not smaller than the \(h)×\(w) images") }
        let out = features.copy()
        let key = KilnRandom.key(seed: seed ^ 0xA55A_5AA5, step: UInt64(clamping: step))
        let planes = perExample / Swift.max(h * w, 1)
        var source = [Float](repeating: 0, count: h * w)
        for r in 0..<rows {
            // Three uniforms per example: row shift, column shift, flip.
            let base = UInt64(r) &* 3
            let dy = shift > 0 ? Int(KilnRandom.uniform(key: key, index: base) * Float(2 * shift + 1)) - shift : 0
            let dx = shift > 0 ? Int(KilnRandom.uniform(key: key, index: base + 1) * Float(2 * shift + 1)) - shift : 0
            let mirror = flip && KilnRandom.uniform(key: key, index: base + 2) < 0.5
            let example = out.floatPointer + r * perExample
            if dx != 0 || dy != 0 || mirror {
                for p in 0..<planes {
                    let plane = example + p * h * w
                    for i in 0..<(h * w) { source[i] = plane[i] }
                    for y in 0..<h {
                        for x in 0..<w {
                            let sy = y - dy, sx0 = x - dx
                            let sx = mirror ? w - 1 - sx0 : sx0
                            plane[y * w + x] = (0..<h).contains(sy) && (0..<w).contains(sx) ? source[sy * w + sx] : 0
                        }
                    }
                }
            }
            if noise > 0 {
                let std = Float(noise)
                // Normal draws use indices past the geometry draws of every example.
                let offset = UInt64(rows) &* 3 &+ UInt64(r) &* UInt64(perExample)
                for i in 0..<perExample { example[i] += std * KilnRandom.normal(key: key, index: offset &+ UInt64(i)) }
            }
        }
        return out
    }
}
