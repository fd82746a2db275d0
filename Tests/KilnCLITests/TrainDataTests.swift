import Foundation
import KilnIR
import KilnRuntime
import Testing
@testable import kiln

/// `kiln train --data`: graphs trained on arrays that are not Fashion-MNIST.
@Suite(.serialized)
struct TrainDataTests {
    /// A separable toy problem: points (f32) labelled by the side of a line, and token ids
    /// (i32) labelled by whether the first token is ≥ 5; test splits as NAME_test.
    static func writeData(in directory: String) throws {
        func points(_ n: Int, _ seed: UInt64) -> (Tensor, Tensor) {
            let xs: [Float] = (0..<(2 * n)).map { (i: Int) -> Float in KilnRandom.uniform(seed: seed, step: 0, index: UInt64(i)) * 2 - 1 }
            let ys: [Int32] = (0..<n).map { (i: Int) -> Int32 in xs[2 * i] + xs[2 * i + 1] > 0 ? 1 : 0 }
            return (Tensor([n, 2], floats: xs), Tensor([n], ints: ys))
        }
        func tokens(_ n: Int, _ seed: UInt64) -> (Tensor, Tensor) {
            let ts = (0..<(4 * n)).map { Int32(KilnRandom.uniform(seed: seed, step: 1, index: UInt64($0)) * 10) }
            return (Tensor([n, 4], ints: ts), Tensor([n], ints: (0..<n).map { ts[4 * $0] >= 5 ? 1 : 0 }))
        }
        let (p, c) = points(1000, 1), (pt, ct) = points(200, 2), (t, l) = tokens(1000, 3), (tt, lt) = tokens(200, 4)
        try NumPyFormat.writeArchive(["points": p, "classes": c, "points_test": pt, "classes_test": ct], to: "\(directory)/points.npz")
        try NumPyFormat.writeArchive(["tokens": t, "labels": l, "tokens_test": tt, "labels_test": lt], to: "\(directory)/tokens.npz")
    }

    static let pointsGraph = """
        graph points {
          input p: f32[32, 2]
          input y: i32[32]
          param w: f32[2, 2] = glorot_uniform
          param b: f32[2] = zeros
          scores = add(matmul(p, w), b)
          loss = softmax_cross_entropy(scores, y)
          output loss as loss
          output scores as logits
        }
        """
    static let tokensGraph = """
        graph tokens {
          input tokens: i32[32, 4]
          input labels: i32[32]
          param emb: f32[10, 8] = glorot_uniform
          param w: f32[32, 2] = glorot_uniform
          param b: f32[2] = zeros
          flat = reshape(gather(emb, tokens), shape=[32, 32])
          scores = add(matmul(flat, w), b)
          loss = softmax_cross_entropy(scores, labels)
          output loss as loss
          output scores as logits
        }
        """

    func lastTestAccuracy(_ out: String) -> Double? {
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("epoch ") }),
              let range = line.range(of: "test accuracy ") else { return nil }
        return Double(line[range.upperBound...].prefix(6))
    }

    @Test("a data set larger than the memory budget (a deflate bomb) is refused before it is inflated")
    func deflateBomb() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 32 MiB of zero pixels in a few dozen KiB.
        let images = Tensor(zeros: TensorType(.f32, Shape([10_700, 784])))
        try NumPyFormat.writeArchive(["images": images, "labels": Tensor(zeros: TensorType(.i32, Shape([10_700])))], to: "\(directory)/bomb.npz", compressed: true)
        let r = try runKiln(["train", repositoryRoot.appendingPathComponent("Graphs/mlp.kiln").path, "--data", "\(directory)/bomb.npz", "--memory-budget", "8M"])
        #expect(r.status == 1 && r.err.contains("member 'images.npy' holds 33555328 bytes uncompressed") && r.err.contains("--memory-budget"), "\(r.err)")
    }

    @Test("f32 points and i32 tokens learn their toy problems, on both backends, with --feed and re-specialised batches")
    func learns() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeData(in: dir)
        let points = try writeFile(Self.pointsGraph, "points.kiln", in: dir), tokens = try writeFile(Self.tokensGraph, "tokens.kiln", in: dir)
        for backend in ["interp", "jit"] {
            let r = try runKiln(["train", points, "--data", "\(dir)/points.npz", "--feed", "p=points,y=classes", "--epochs", "3",
                                 "--optimizer", "sgd:lr=0.5", "--backend", backend])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.contains("feeds p ← points, y ← classes"))
            #expect((lastTestAccuracy(r.out) ?? 0) > 0.9, "\(r.out)")
            let t = try runKiln(["train", tokens, "--data", "\(dir)/tokens.npz", "--epochs", "6", "--optimizer", "adam:lr=0.02",
                                 "--backend", backend, "--batch", "50"])
            #expect(t.status == 0, "\(t.err)")
            #expect(t.out.contains("re-specialised tokens to batch 50"))
            #expect((lastTestAccuracy(t.out) ?? 0) > 0.9, "\(t.out)")
        }
    }

    @Test("bad --data and --feed are clear errors naming the array and the input")
    func errors() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeData(in: dir)
        let tokens = try writeFile(Self.tokensGraph, "tokens.kiln", in: dir)
        let cases: [([String], String)] = [
            (["--data", "\(dir)/tokens.npz", "--feed", "tokens=nope"], "error: feed tokens=nope: the data set has no array 'nope' (arrays: labels i32[N], tokens i32[N, 4])\n"),
            (["--data", "\(dir)/points.npz"], "error: input 'tokens' i32[32, 4] has no data: no array is named 'tokens' and none left has dtype i32 with 4 values per example (arrays: classes i32[N], points f32[N, 2])\n"),
            (["--data", "\(dir)/tokens.npz", "--feed", "x=tokens"], "error: feed x=tokens: the graph has no input 'x' (inputs: tokens, labels)\n"),
            (["--data", "\(dir)/points.npz", "--feed", "tokens=points"], "error: input 'tokens' i32[32, 4] is fed array 'points' of dtype f32; the dtypes must agree\n"),
        ]
        for (arguments, message) in cases {
            let r = try runKiln(["train", tokens] + arguments)
            #expect(r.status != 0 && r.err == message, "\(arguments)")
        }
        #expect(validationMessage(Train.self, [tokens, "--data", "\(dir)/none.npz"])?.contains("--data '\(dir)/none.npz' is neither fashion-mnist nor an existing .npz file or directory of .npy files") == true)
        #expect(validationMessage(Train.self, [tokens, "--feed", "tokens"])?.contains("--feed: 'tokens' is not INPUT=ARRAY") == true)
        #expect(validationMessage(Train.self, [tokens, "--batch", "0"])?.contains("--batch must be between 1 and 65536, got 0") == true)
    }
}
