import Foundation

/// Large generated graphs for compile-time tests: the same text `Benchmarks/big_graph.py` writes
/// for the compile-time curve in Docs/BENCHMARKS.md.
enum BigGraphs {
    private static let chainLines = [
        "relu(add(mul({h}, w), b))",
        "tanh(sub({h}, mul({h}, b)))",
        "sigmoid(add(square({h}), w))",
        "add(neg({h}), mul(exp({h}), w))",
    ]

    /// A chain of about `nodes` f32 elementwise ops over [16, 32] (three a line, every value
    /// used twice somewhere), reduced to the scalar `loss`.
    static func chain(nodes: Int) -> String {
        var out = ["graph chain {", "  input x: f32[16, 32]", "  param w: f32[16, 32] = glorot_uniform",
                   "  param b: f32[32] = zeros"]
        var h = "x", count = 0, line = 0
        while count < nodes {
            let call = chainLines[line % chainLines.count].replacingOccurrences(of: "{h}", with: h)
            out.append("  h\(line) = \(call)")
            count += call.filter { $0 == "(" }.count
            h = "h\(line)"
            line += 1
        }
        out += ["  loss = reduce_sum(\(h), axes=[0, 1])", "  output loss", "}"]
        return out.joined(separator: "\n") + "\n"
    }

    /// Blocks of matmul, bias add, relu, softmax, reduce_sum and a residual (7 nodes each), with
    /// eight weight/bias pairs shared round-robin, reduced to the scalar `loss`.
    static func mixed(nodes: Int, pairs: Int = 8) -> String {
        var out = ["graph mixed {", "  input x: f32[16, 32]"]
        for p in 0..<pairs {
            out += ["  param w\(p): f32[32, 32] = glorot_uniform", "  param b\(p): f32[32] = zeros"]
        }
        var h = "x", block = 0
        while 7 * block < nodes {
            let p = block % pairs
            out += ["  m\(block) = matmul(\(h), w\(p))",
                    "  a\(block) = relu(add(m\(block), b\(p)))",
                    "  s\(block) = softmax(a\(block), axis=1)",
                    "  r\(block) = reduce_sum(s\(block), axes=[1], keep_dims=true)",
                    "  h\(block) = add(mul(s\(block), r\(block)), a\(block))"]
            h = "h\(block)"
            block += 1
        }
        out += ["  loss = reduce_sum(\(h), axes=[0, 1])", "  output loss", "}"]
        return out.joined(separator: "\n") + "\n"
    }
}
