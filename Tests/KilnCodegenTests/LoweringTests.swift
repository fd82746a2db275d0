import Foundation
import KilnIR
import KilnPasses
import Testing
@testable import KilnCodegen

/// The loop IR each op lowers to and its schedule for an AVX2 machine with two threads: golden
/// text for representative kernels (`Golden/NAME.kiln` with a `# passes:` line; `NAME.expected`
/// holds what `kiln dump --loops` prints; KILN_UPDATE_GOLDEN=1 rewrites them), and a lowering
/// for every op of the table.
struct LoweringTests {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Golden")

    /// A listing that fails yields one case naming the error (which then fails), never an empty list.
    static var cases: [String] {
        do {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            return names.filter { $0.hasSuffix(".kiln") }.map { String($0.dropLast(5)) }.sorted()
        } catch {
            return ["<cannot list Golden/: \(error)>"]
        }
    }

    @Test("the golden list is not empty")
    func goldenIsListed() {
        #expect(Self.cases.count >= 6, "Golden/ lists \(Self.cases)")
    }

    @Test("golden loop IR", arguments: cases)
    func golden(name: String) throws {
        let source = try String(contentsOf: Self.directory.appendingPathComponent("\(name).kiln"), encoding: .utf8)
        let passes = try #require(source.split(separator: "\n").first { $0.hasPrefix("# passes:") }).dropFirst(9)
        var manager = PassManager(try PassRegistry.pipeline(String(passes)))
        let graph = try manager.run(try Parser.parse(source, file: "\(name).kiln"))
        let actual = LoopPrinter.print(lowered: try Lowering.lower(graph, target: .avx2), scheduledFor: .avx2)
        if ProcessInfo.processInfo.environment["KILN_UPDATE_GOLDEN"] != nil {
            let sourceDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
            try actual.write(to: sourceDir.appendingPathComponent("\(name).expected"), atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: Self.directory.appendingPathComponent("\(name).expected"), encoding: .utf8)
        #expect(actual == expected)
    }

    /// One small graph per op (fused kernels come from the fusion goldens above).
    static let samples: [OpKind: String] = [
        .constant: "y = constant(value=2.5, shape=[3, 2])",
        .random_normal: "y = random_normal(shape=[4, 4], seed=3)",
        .random_uniform: "y = random_uniform(shape=[3, 5], low=-1, high=2, seed=4)",
        .iota: "y = iota(shape=[3, 4], axis=1, dtype=f32)", .softplus: "y = softplus(a)", .stop_gradient: "y = stop_gradient(a)",
        .bernoulli: "y = bernoulli(sigmoid(a), seed=7)", .if_training: "y = if_training(a, c)",
        .add: "y = add(a, c)", .sub: "y = sub(a, b)", .mul: "y = mul(a, b)", .div: "y = div(a, b)",
        .max: "y = max(a, b)", .min: "y = min(a, b)", .pow: "y = pow(a, b)", .equal: "y = equal(a, b)",
        .not_equal: "y = not_equal(a, b)", .less: "y = less(a, b)", .less_equal: "y = less_equal(a, b)",
        .greater: "y = greater(a, b)", .greater_equal: "y = greater_equal(a, b)", .select: "y = select(a, b, c)",
        .neg: "y = neg(a)", .exp: "y = exp(a)", .log: "y = log(a)", .sqrt: "y = sqrt(a)", .rsqrt: "y = rsqrt(a)",
        .square: "y = square(a)", .abs: "y = abs(a)", .sign: "y = sign(a)", .tanh: "y = tanh(a)", .sigmoid: "y = sigmoid(a)",
        .relu: "y = relu(a)", .leaky_relu: "y = leaky_relu(a)", .elu: "y = elu(a)", .cast: "y = cast(a, dtype=i32)",
        .log1p: "y = log1p(a)", .expm1: "y = expm1(a)", .erf: "y = erf(a)",
        .dropout: "y = dropout(a, rate=0.5)", .matmul: "y = matmul(a, b, transpose_b=true)",
        .conv2d: "y = conv2d(img, k, stride=[2, 2], padding=[1, 1])",
        .max_pool2d: "y = max_pool2d(img, window=[2, 2])", .avg_pool2d: "y = avg_pool2d(img, window=[3, 3], stride=[1, 1], padding=[1, 1])",
        .transpose: "y = transpose(a, perm=[1, 0])", .reshape: "y = reshape(a, shape=[2, 12])",
        .broadcast_to: "y = broadcast_to(c, shape=[4, 6])", .concat: "y = concat(a, b, axis=1)",
        .slice: "y = slice(a, begin=[1, 1], end=[3, 5])", .pad: "y = pad(a, before=[1, 2], after=[0, 1])",
        .gather: "y = gather(a, idx)", .one_hot: "y = one_hot(idx, depth=5)", .argmax: "y = argmax(a, axis=1)",
        .reduce_sum: "y = reduce_sum(a, axes=[0])", .reduce_mean: "y = reduce_mean(a, axes=[1])",
        .reduce_max: "y = reduce_max(a, axes=[0, 1])", .softmax: "y = softmax(a, axis=0)", .log_softmax: "y = log_softmax(a)",
        .softmax_cross_entropy: "y = softmax_cross_entropy(a, labels)", .mse: "y = mse(a, b)",
        .binary_cross_entropy: "y = binary_cross_entropy(sigmoid(a), b)", .sigmoid_cross_entropy: "y = sigmoid_cross_entropy(a, b)",
        .conv2d_grad_input: "y = conv2d_grad_input(dimg, k, shape=[2, 3, 5, 5], stride=[2, 2], padding=[1, 1])",
        .conv2d_grad_filter: "y = conv2d_grad_filter(img, dimg, shape=[4, 3, 3, 3], stride=[2, 2], padding=[1, 1])",
        .max_pool2d_grad: "y = max_pool2d_grad(img, dpool, window=[2, 2])",
        .avg_pool2d_grad: "y = avg_pool2d_grad(dpool, shape=[2, 3, 5, 5], window=[2, 2])",
        .softmax_cross_entropy_grad: "y = softmax_cross_entropy_grad(a, labels, s)",
        .gather_grad: "y = gather_grad(g, idx, rows=4)",
    ]

    static let prelude = """
        input a: f32[4, 6]
        input b: f32[4, 6]
        input c: f32[6]
        input s: f32[]
        input idx: i32[3]
        input labels: i32[4]
        input img: f32[2, 3, 5, 5]
        input dimg: f32[2, 4, 3, 3]
        input dpool: f32[2, 3, 2, 2]
        input g: f32[3, 6]
        param k: f32[4, 3, 3, 3] = he_normal
        """

    @Test("every op in the table has a sample that lowers to loop kernels")
    func everyOpLowers() throws {
        for op in OpKind.allCases where op != .fused {
            let sample = try #require(Self.samples[op], "no lowering sample for \(op.name)")
            let graph = try inferTypes(try Parser.parse("graph g {\n\(Self.prelude)\n \(sample)\n output y\n}"))
            let kernels = try Lowering.lower(graph)
            #expect(!kernels.isEmpty, "\(op.name)")
            #expect(kernels.allSatisfy { !LoopPrinter.print($0).isEmpty })
        }
    }
}
