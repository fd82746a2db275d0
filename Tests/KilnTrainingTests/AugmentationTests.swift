import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// `--augment`: spec parsing, the geometry of shifts and flips, noise statistics, determinism.
struct AugmentationTests {
    @Test("specs parse; bad ones name the option and its range", arguments: [
        ("shift=3", nil), ("flip", nil), ("noise=0.05,flip,shift=1", nil),
        ("shift=65", "augmentation shift=65 is out of range: expected an integer in 0...64"),
        ("noise=-1", "augmentation noise=-1 is out of range: expected a number in [0, 10]"),
        ("rotate=5", "unknown augmentation 'rotate=5' (expected crop=N, shift=N, flip, noise=STD)"),
        ("crop=2,flip", nil), ("crop=64", nil),
        ("crop=65", "augmentation crop=65 is out of range: expected an integer in 0...64"),
        ("crop=-1", "augmentation crop=-1 is out of range: expected an integer in 0...64"),
        ("shift=1,crop=2", "augmentation crop and shift are the same (a random crop of the zero-padded image); give one"),
        ("flip,flip", "augmentation 'flip' is given twice"),
    ] as [(String, String?)])
    func parse(_ spec: String, _ message: String?) throws {
        do {
            _ = try Augmentation.parse(spec)
            #expect(message == nil)
        } catch let d as Diagnostic {
            #expect(d.message == message)
        }
    }

    @Test("crop=N is shift=N: a random crop of the image padded by N zeros on every side")
    func cropIsShift() throws {
        #expect(try Augmentation.parse("crop=3,flip") == Augmentation(shift: 3, flip: true))
        // Against a direct pad-then-crop: every augmented image is some window of the padded one.
        let x = Self.images(50)
        let y = try Augmentation.parse("crop=1").apply(x, count: 50, seed: 4, step: 2)
        var padded = [Float](repeating: 0, count: 36)
        for i in 0..<4 { for j in 0..<4 { padded[(i + 1) * 6 + j + 1] = Float(i * 4 + j + 1) } }
        var offsets = Set<Int>()
        for r in 0..<50 {
            let row = Array(y.floats[(r * 16)..<((r + 1) * 16)])
            let windows = (0...2).flatMap { top in (0...2).map { left in (top * 3 + left,
                (0..<4).flatMap { i in (0..<4).map { j in padded[(top + i) * 6 + left + j] } }) } }
            let match = windows.first { $0.1 == row }
            #expect(match != nil, "row \(r) is no 4×4 window of the padded image")
            if let match { offsets.insert(match.0) }
        }
        #expect(offsets.count >= 6)  // the window moves: not always the centre
    }

    /// One 4×4 image per row, values 1…16, so every move is visible.
    static func images(_ rows: Int) -> Tensor {
        Tensor([rows, 16], floats: (0..<(rows * 16)).map { Float($0 % 16 + 1) })
    }

    @Test("a flip-only augmentation mirrors each image or leaves it, about half each; padding rows stay")
    func flips() throws {
        let x = Self.images(200)
        let y = try Augmentation(flip: true).apply(x, count: 190, seed: 1, step: 0)
        var mirrored = 0
        for r in 0..<200 {
            let row = Array(y.floats[(r * 16)..<((r + 1) * 16)])
            let original = (1...16).map(Float.init)
            var flipped: [Float] = []
            for i in 0..<4 { for j in 0..<4 { flipped.append(Float(i * 4 + (3 - j) + 1)) } }
            #expect(row == original || (r < 190 && row == flipped))
            if row == flipped { mirrored += 1 }
        }
        #expect((70...120).contains(mirrored))
    }

    @Test("shifts move whole images by at most `shift` pixels and fill with zeros")
    func shifts() throws {
        let y = try Augmentation(shift: 1).apply(Self.images(100), count: 100, seed: 2, step: 5)
        for r in 0..<100 {
            let row = Array(y.floats[(r * 16)..<((r + 1) * 16)])
            // Some (dy, dx) in [-1, 1]² reproduces the row.
            func matches(_ dy: Int, _ dx: Int) -> Bool {
                for i in 0..<16 {
                    let sy = i / 4 - dy, sx = i % 4 - dx
                    let inside = (0..<4).contains(sy) && (0..<4).contains(sx)
                    let expected: Float = inside ? Float(sy * 4 + sx + 1) : 0
                    if row[i] != expected { return false }
                }
                return true
            }
            var found = false
            for dy in -1...1 { for dx in -1...1 where matches(dy, dx) { found = true } }
            #expect(found, "row \(r): \(row)")
        }
    }

    @Test("noise has the asked standard deviation; the same seed and step give the same batch, another step another")
    func noise() throws {
        let x = Tensor([64, 784], floats: [Float](repeating: 0.5, count: 64 * 784))
        let a = try Augmentation(noise: 0.1).apply(x, count: 64, seed: 3, step: 7)
        let b = try Augmentation(noise: 0.1).apply(x, count: 64, seed: 3, step: 7)
        let c = try Augmentation(noise: 0.1).apply(x, count: 64, seed: 3, step: 8)
        #expect(a.floats == b.floats && a.floats != c.floats)
        let d = a.floats.map { Double($0) - 0.5 }
        let std = (d.map { $0 * $0 }.reduce(0, +) / Double(d.count)).squareRoot()
        #expect(Swift.abs(std - 0.1) < 0.002)
        #expect(x.floats.allSatisfy { $0 == 0.5 }, "the input batch is not modified")
    }

    @Test("shift and flip need image examples")
    func needsImages() throws {
        #expect(throws: Diagnostic.self) { try Augmentation(flip: true).apply(Tensor([2, 10], floats: [Float](repeating: 0, count: 20)), count: 2, seed: 0, step: 0) }
        #expect(try Augmentation.plane([1, 28, 28]) == (28, 28) && Augmentation.plane([784]) == (28, 28))
    }
}
