import Foundation
import KilnIR
import KilnJIT
import KilnRuntime
import Testing

/// Every elementwise op's one definition (KilnIR.ElementwiseMeaning) as the JIT renders it
/// (loop IR, LLVM, its math library) against the interpreter's evaluation of the same
/// definition (chunked loops over glibc's libm), element by element, over dense sweeps and the
/// edge values where definitions drift apart: ±0, denormals, the overflow and underflow
/// thresholds of exp, ±inf, NaN, huge magnitudes, and Int32's extremes.
struct ScalarSemanticsTests {
    static let edges: [Float] = [
        0, -0.0, 1e-45, -1e-45, 1e-40, -1e-40, 1.1754944e-38, -1.1754944e-38, 1e-30, -1e-30, 1e-7, -1e-7, 1e-6, -1e-6,
        0.5, -0.5, 1, -1, 2, -2, 10, -10, 20, -20, 88.38, 88.72, 88.73, -87.33, -87.34, -100, -103.9, -104, -150,
        1e10, -1e10, 3.4e38, -3.4e38, .infinity, -.infinity, .nan,
    ]
    /// Edges plus a dense sweep of [-110, 110] and a log-spaced sweep of positive magnitudes.
    static let sweep: [Float] = edges + (0..<4001).map { -110 + 220 * Float($0) / 4000 }
        + (0..<2001).map { Float(Foundation.pow(10.0, -44 + 82 * Double($0) / 2000)) }

    /// Runs `y = body` on both backends (unfused) and returns (interpreter, JIT) outputs.
    static func both(_ body: String, inputs: [String: Tensor]) throws -> (Tensor, Tensor) {
        let declarations = inputs.sorted { $0.key < $1.key }.map { " input \($0.key): \($0.value.type)" }.joined(separator: "\n")
        let graph = try inferTypes(try Parser.parse("graph s {\n\(declarations)\n out = \(body)\n output out\n}"))
        var state: [String: Tensor] = [:]
        let a = try Interpreter(graph: graph).run(inputs: inputs, state: &state, step: 3)
        let b = try JITBackend(graph: graph).run(inputs: inputs, state: &state, step: 3)
        return (try #require(a["out"]), try #require(b["out"]))
    }

    /// Equal bits, both NaN, within 4e-6 relative, or both within a few denormal steps.
    static func agree(_ x: Float, _ y: Float) -> Bool {
        if x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) { return true }
        if x.isInfinite || y.isInfinite || x.isNaN || y.isNaN { return false }
        let d = Swift.abs(Double(x) - Double(y))
        return d <= 4e-6 * Swift.max(Swift.abs(Double(x)), Swift.abs(Double(y))) || d <= 1e-44
    }

    static func check(_ op: String, _ a: Tensor, _ b: Tensor, inputs x: [Float], _ y: [Float]? = nil) {
        let (u, v) = (a.floats, b.floats)
        var bad: [String] = []
        for i in u.indices where !agree(u[i], v[i]) {
            bad.append("\(op)(\(x[i])\(y.map { ", \($0[i])" } ?? "")): interpreter \(u[i]), JIT \(v[i])")
        }
        #expect(bad.isEmpty, "\(bad.count) disagreements, first: \(bad.prefix(5).joined(separator: "; "))")
    }

    /// The ops the sweeps cover, read from the op table: every op whose fusion role is
    /// elementwise (a new one is swept without being listed here). The standalone elementwise
    /// ops (cast, the random draws, iota, constant) are checked below and in `BackendEquivalenceTests`.
    static let elementwise = OpKind.allCases.filter { $0.fusionRole == .elementwise }

    /// `op` applied to `operands`, with each required attribute given a value (a `shape` is
    /// the operands' own) and, when `variant`, every float attribute set off its default.
    static func call(_ op: OpKind, _ operands: [String], shape: [Int], variant: Bool = false) throws -> String {
        var attributes: [String] = []
        for spec in op.attributes {
            if case .required = spec.defaultValue {
                guard spec.name == "shape" else { throw Diagnostic("no sample value for \(op.name)'s required attribute \(spec.name)") }
                attributes.append("shape=\(shape)")
            } else if variant && spec.kind == .float {
                attributes.append("\(spec.name)=0.3")
            }
        }
        return "\(op.name)(\((operands + attributes).joined(separator: ", ")))"
    }

    /// Operand i of an op taking `count`: x, and y for the last of two or more (select(x, x, y)).
    static func operandNames(_ op: OpKind) throws -> [String] {
        guard case .exactly(let count) = op.arity, (1...3).contains(count) else { throw Diagnostic("\(op.name): arity \(op.arity)") }
        return (0..<count).map { $0 == count - 1 && count > 1 ? "y" : "x" }
    }

    @Test("every elementwise op of the op table agrees in f32 over sweeps and edge values (and its float attributes off their defaults)",
          arguments: elementwise)
    func f32Ops(_ op: OpKind) throws {
        let names = try Self.operandNames(op)
        // One operand: the whole sweep; more: every pair of edge values.
        let e = Self.edges
        let x = names.count == 1 ? Self.sweep : e.flatMap { v in e.map { _ in v } }, y = e.flatMap { _ in e }
        let inputs = names.count == 1 ? ["x": Tensor([x.count], floats: x)] : ["x": Tensor([x.count], floats: x), "y": Tensor([y.count], floats: y)]
        let hasFloatAttribute = op.attributes.contains { $0.kind == .float }
        for variant in hasFloatAttribute ? [false, true] : [false] {
            let body = try Self.call(op, names, shape: [x.count], variant: variant)
            let (a, b) = try Self.both(body, inputs: inputs)
            Self.check(body, a, b, inputs: x, names.count == 1 ? nil : y)
        }
    }

    static let intEdges: [Int32] = [0, 1, -1, 2, -2, 7, -7, 46341, Int32.max, Int32.min, Int32.max - 1, Int32.min + 1]

    @Test("every elementwise op of the op table taking i32 wraps alike on both backends (division by zero gives 0, Int32.min / -1 wraps)",
          arguments: elementwise)
    func i32Ops(_ op: OpKind) throws {
        let names = try Self.operandNames(op)
        let e = Self.intEdges
        let x = e.flatMap { v in e.map { _ in v } }, y = e.flatMap { _ in e }
        let body = try Self.call(op, names, shape: [x.count])
        let source = "graph s {\n input x: i32[\(x.count)]\n input y: i32[\(y.count)]\n out = \(body)\n output out\n}"
        // The shape rules decide which ops take i32; the f32-only ones must be refused, not run.
        guard (try? inferTypes(try Parser.parse(source))) != nil else {
            #expect([.pow, .exp, .log, .sqrt, .rsqrt, .tanh, .sigmoid, .leaky_relu, .elu, .log1p, .expm1, .erf, .softplus].contains(op),
                    "\(op.name) refuses i32")
            return
        }
        let (a, b) = try Self.both(body, inputs: ["x": Tensor([x.count], ints: x), "y": Tensor([y.count], ints: y)])
        let mismatches = zip(a.ints, b.ints).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(mismatches.isEmpty, "\(body): first at \(mismatches.first.map { "x=\(x[$0.offset]) y=\(y[$0.offset]): \($0.element)" } ?? "")")
    }

    @Test("relu(NaN) is NaN on both backends, as leaky_relu, elu and NumPy's maximum; relu(-0) is +0")
    func reluPropagatesNaN() throws {
        let x: [Float] = [.nan, -1, -0.0, 0, 2]
        for body in ["relu(x)", "leaky_relu(x, alpha=0.1)", "elu(x)", "max(x, 0.0)", "min(x, 5.0)"] {
            let (a, b) = try Self.both(body, inputs: ["x": Tensor([x.count], floats: x)])
            for (backend, t) in [("interpreter", a), ("JIT", b)] {
                #expect(t.floats[0].isNaN, "\(body) on the \(backend): \(t.floats)")
            }
        }
        let (a, b) = try Self.both("relu(x)", inputs: ["x": Tensor([x.count], floats: x)])
        #expect(a.floats[1...].map(\.bitPattern) == [0, 0, 0, Float(2).bitPattern] && b.floats[1...].map(\.bitPattern) == a.floats[1...].map(\.bitPattern))
    }

    @Test("select, and casts to i32 and back, agree on edge values")
    func selectAndCast() throws {
        let e = Self.edges
        let x = e.flatMap { v in e.map { _ in v } }, y = e.flatMap { _ in e }
        let inputs = ["x": Tensor([x.count], floats: x), "y": Tensor([y.count], floats: y)]
        let (a, b) = try Self.both("select(x, x, y)", inputs: inputs)
        Self.check("select", a, b, inputs: x, y)
        let (c, d) = try Self.both("cast(cast(x, dtype=i32), dtype=f32)", inputs: inputs)
        Self.check("cast", c, d, inputs: x)
    }

    @Test("casts from i32 agree on Int32's extremes")
    func intCast() throws {
        let x = Self.intEdges
        let (a, b) = try Self.both("cast(x, dtype=f32)", inputs: ["x": Tensor([x.count], ints: x)])
        Self.check("cast", a, b, inputs: x.map(Float.init))
    }

    @Test("log1p and expm1 near zero keep their relative accuracy; erf at known values", arguments: ["log1p", "expm1", "erf"])
    func primitivesNearZero(_ op: String) throws {
        let points: [Float] = [1e-30, -1e-30, 1e-12, -1e-12, 3e-8, -3e-8, 1e-6, -1e-6, 1e-3, -1e-3, 0.25, -0.49, 0.5, -0.75, 1.5, -3, 5]
        let x = op == "log1p" ? points.filter { $0 > -1 } : points  // log1p is NaN below -1 (the sweeps check that)
        let reference: (Double) -> Double = op == "log1p" ? Foundation.log1p : op == "expm1" ? Foundation.expm1 : Foundation.erf
        let (a, b) = try Self.both("\(op)(x)", inputs: ["x": Tensor([x.count], floats: x)])
        for (i, v) in x.enumerated() {
            let want = reference(Double(v))
            // erf is the same Taylor/Abramowitz–Stegun expansion on both backends (ElementwiseMeaning.erf).
            #expect(Swift.abs(Double(a.floats[i]) - want) <= (op == "erf" ? 4e-7 : 2e-7) * Swift.abs(want), "interpreter \(op)(\(v)) = \(a.floats[i]), want \(want)")
            #expect(Swift.abs(Double(b.floats[i]) - want) <= 4e-7 * Swift.abs(want), "JIT \(op)(\(v)) = \(b.floats[i]), want \(want)")
        }
    }

    @Test("elu near zero keeps its relative accuracy (expm1, not exp − 1)")
    func eluNearZero() throws {
        let x: [Float] = [-1e-7, -1e-6, -1e-5, -1e-3]
        let (a, b) = try Self.both("elu(x)", inputs: ["x": Tensor([x.count], floats: x)])
        for (i, v) in x.enumerated() {
            let want = Foundation.expm1(Double(v))
            #expect(Swift.abs(Double(b.floats[i]) - want) <= 2e-7 * Swift.abs(want), "JIT elu(\(v)) = \(b.floats[i])")
            #expect(Swift.abs(Double(a.floats[i]) - want) <= 2e-7 * Swift.abs(want), "interpreter elu(\(v)) = \(a.floats[i])")
        }
    }

    @Test("exp reaches FLT_MAX and underflows to 0; log of the smallest denormal is −103.28")
    func expLogRange() throws {
        let x: [Float] = [88.38, -1000, 1.4e-45]
        let (_, e) = try Self.both("exp(x)", inputs: ["x": Tensor([3], floats: x)])
        #expect(e.floats[0].isFinite && Swift.abs(e.floats[0] - 2.4150e38) / 2.4150e38 < 1e-4)
        #expect(e.floats[1] == 0)
        let (_, l) = try Self.both("log(exp(x))", inputs: ["x": Tensor([3], floats: [-1000, 0, 0])])
        #expect(l.floats[0] == -.infinity)
        let (_, d) = try Self.both("log(x)", inputs: ["x": Tensor([1], floats: [1.4e-45])])
        #expect(Swift.abs(d.floats[0] - -103.27893) < 1e-4)
    }
}

extension ScalarSemanticsTests {
    @Test("pooling, softmax and reductions agree on windows holding NaN, ±inf and −0", arguments: [
        "max_pool2d(x, window=[2, 2])", "max_pool2d(x, window=[3, 3], stride=[2, 2], padding=[1, 1])",
        "avg_pool2d(x, window=[2, 2])", "avg_pool2d(x, window=[3, 2], stride=[1, 2], padding=[1, 0])",
        "softmax(reshape(x, shape=[8, 8]), axis=1)", "log_softmax(reshape(x, shape=[8, 8]), axis=0)",
        "reduce_max(x, axes=[2, 3])", "reduce_sum(x, axes=[0, 2])", "reduce_mean(x, axes=[3])",
    ])
    func windowsWithSpecialValues(_ body: String) throws {
        let specials: [Float] = [.nan, .infinity, -.infinity, -0.0, 0, 1e-40, -3, 2, 5, -1]
        let x = (0..<64).map { specials[($0 * 7) % specials.count] }
        let (a, b) = try Self.both(body, inputs: ["x": Tensor([2, 2, 4, 4], floats: x)])
        Self.check(body, a, b, inputs: x)
    }
}

extension ScalarSemanticsTests {
    @Test("pooling adjoints route gradients like the interpreter: ties, NaN, overlapping and padded windows", arguments: [
        "max_pool2d_grad(x, d, window=[2, 2])", "max_pool2d_grad(x, e, window=[3, 3], stride=[2, 2], padding=[1, 1])",
        "avg_pool2d_grad(e, shape=[2, 2, 4, 4], window=[3, 3], stride=[2, 2], padding=[1, 1])",
    ])
    func poolingAdjoints(_ body: String) throws {
        let specials: [Float] = [.nan, 2, 2, -.infinity, -0.0, 0, 5, 5, -1]
        let x = (0..<64).map { specials[($0 * 5) % specials.count] }
        let d = (0..<16).map { Float($0) - 7.5 }
        let (a, b) = try Self.both(body, inputs: ["x": Tensor([2, 2, 4, 4], floats: x), "d": Tensor([2, 2, 2, 2], floats: d),
                                                  "e": Tensor([2, 2, 2, 2], floats: d)])
        Self.check(body, a, b, inputs: x)
    }
}
