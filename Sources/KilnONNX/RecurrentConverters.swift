import KilnIR

/// ONNX `RNN`, `GRU` and `LSTM` (what `nn.RNN`, `nn.GRU` and `nn.LSTM` export), unrolled over
/// the static sequence length into Kiln ops: one matmul projects every time step's input at
/// once, then each step adds the recurrent product and applies the gates — the cells of
/// KilnNN's recurrent layers, written out. Forward, reverse and bidirectional; `layout` 0 and 1;
/// initial states; peepholes, `input_forget`, `clip`; GRU's `linear_before_reset`; every
/// activation ONNX allows. W, R and B stay params when they are initializers, so an imported
/// recurrent net can be fine-tuned. `sequence_lens` (known or at run time) masks the steps past
/// each sequence's end.
enum RecurrentConverters {
    enum Cell: String {
        case rnn = "RNN", gru = "GRU", lstm = "LSTM"

        var gates: Int {
            switch self {
            case .rnn: return 1
            case .gru: return 3
            case .lstm: return 4
            }
        }

        var defaultActivations: [String] {
            switch self {
            case .rnn: return ["Tanh"]
            case .gru: return ["Sigmoid", "Tanh"]
            case .lstm: return ["Sigmoid", "Tanh", "Tanh"]
            }
        }
    }

    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        for cell in [Cell.rnn, .gru, .lstm] { t[cell.rawValue] = { try convert($0, cell) } }
    }

    /// What every step of one direction reads.
    struct Direction {
        var index: Int
        var projected: String
        var recurrent: String
        var activations: [RecurrentActivation]
        var peepholes: [String]
        var resetBias: String?
    }

    static func convert(_ ctx: ImportContext, _ cell: Cell) throws {
        let a = ctx.attributes
        let direction = a.string("direction", "forward")
        guard ["forward", "reverse", "bidirectional"].contains(direction) else { throw ConversionError("direction '\(direction)' is not supported") }
        let directions = direction == "bidirectional" ? 2 : 1
        let layout = try a.int("layout", 0)
        guard layout == 0 || layout == 1 else { throw ConversionError("layout \(layout) is not supported (0 or 1)") }
        let xDims = try ctx.shape(0)
        guard xDims.count == 3 else { throw ConversionError("X must have rank 3, has shape \(xDims)") }
        let (steps, batch, inputSize) = layout == 0 ? (xDims[0], xDims[1], xDims[2]) : (xDims[1], xDims[0], xDims[2])
        let g = cell.gates
        let wDims = try ctx.shape(1), rDims = try ctx.shape(2)
        let hidden = try a.int("hidden_size", wDims.count == 3 ? wDims[1] / g : 0)
        guard hidden > 0, wDims == [directions, g * hidden, inputSize], rDims == [directions, g * hidden, hidden] else {
            throw ConversionError("W \(wDims) and R \(rDims) do not fit \(directions) direction(s), hidden_size \(hidden) and input size \(inputSize) (expected W [\(directions), \(g * hidden), \(inputSize)], R [\(directions), \(g * hidden), \(hidden)])")
        }
        guard try ctx.type(0).dtype == .f32 else { throw ConversionError("X must be float") }
        // Lengths shorter than the sequence (padded batches, known or at run time): a step past
        // a sequence's end keeps its state and outputs zeros, which also makes the reverse
        // direction start at each sequence's own last element.
        var lengths: String? = nil
        if ctx.hasInput(4) {
            let known = try ctx.constant(4).map { try $0.integers("sequence_lens") }
            if let known, known.count != batch || !known.allSatisfy({ $0 >= 1 && $0 <= steps }) {
                throw ConversionError("sequence_lens \(known) must hold \(batch) lengths from 1 to \(steps)")
            }
            if known?.allSatisfy({ $0 == steps }) != true {
                guard try ctx.type(4).dtype == .i32 else { throw ConversionError("sequence_lens must be integers") }
                lengths = try ctx.emit(.reshape, [try ctx.operand(4)], [("shape", .ints([batch, 1]))])
            }
        }
        let clip: Double? = a.has("clip") ? try a.float("clip", 0) : nil
        if let clip, !(clip > 0) { throw ConversionError("clip must be positive, got \(clip)") }
        let inputForget = try a.int("input_forget", 0) != 0
        let linearBeforeReset = try a.int("linear_before_reset", 0) != 0
        let perDirection = cell.defaultActivations.count
        let activations = try RecurrentActivation.parse(a.strings("activations"), fallback: Array(repeating: cell.defaultActivations, count: directions).flatMap { $0 },
                                                        alphas: try a.floats("activation_alpha"), betas: try a.floats("activation_beta"))
        guard activations.count == perDirection * directions else {
            throw ConversionError("activations lists \(activations.count) functions; \(cell.rawValue) needs \(perDirection) per direction (\(perDirection * directions))")
        }

        var x = try ctx.operand(0)
        if layout == 1 { x = try ctx.emit(.transpose, [x], [("perm", .ints([1, 0, 2]))]) }
        let rows = try ctx.emit(.reshape, [x], [("shape", .ints([steps * batch, inputSize]))])
        let w = try ctx.operand(1), r = try ctx.operand(2)
        let b = ctx.hasInput(3) ? try ctx.operand(3) : nil
        if let b, try ctx.dims(b) != [directions, 2 * g * hidden] { throw ConversionError("B must have shape [\(directions), \(2 * g * hidden)], has \(try ctx.dims(b))") }

        var ys: [String] = [], finalH: [String] = [], finalC: [String] = []
        for d in 0..<directions {
            func slice(_ v: String, _ begin: [Int], _ end: [Int], _ shape: [Int]) throws -> String {
                try ctx.emit(.reshape, [try ctx.emit(.slice, [v], [("begin", .ints(begin)), ("end", .ints(end))])], [("shape", .ints(shape))])
            }
            let wd = try slice(w, [d, 0, 0], [d + 1, g * hidden, inputSize], [g * hidden, inputSize])
            let rd = try slice(r, [d, 0, 0], [d + 1, g * hidden, hidden], [g * hidden, hidden])
            var projected = try ctx.emit(.matmul, [rows, wd], [("transpose_b", .bool(true))])
            var resetBias: String? = nil
            if let b {
                let wb = try slice(b, [d, 0], [d + 1, g * hidden], [g * hidden])
                let rb = try slice(b, [d, g * hidden], [d + 1, 2 * g * hidden], [g * hidden])
                var bias = try ctx.emit(.add, [wb, rb])
                if cell == .gru && linearBeforeReset {
                    // The hidden gate's recurrent bias is added inside the reset product.
                    bias = try ctx.emit(.add, [wb, try ctx.emit(.pad, [try slice(rb, [0], [2 * hidden], [2 * hidden])], [("before", .ints([0])), ("after", .ints([hidden]))])])
                    resetBias = try slice(rb, [2 * hidden], [3 * hidden], [hidden])
                }
                projected = try ctx.emit(.add, [projected, bias])
            }
            projected = try ctx.emit(.reshape, [projected], [("shape", .ints([steps, batch, g * hidden]))])
            var peepholes: [String] = []
            if cell == .lstm, ctx.hasInput(7) {
                let p = try ctx.operand(7)
                guard try ctx.dims(p) == [directions, 3 * hidden] else { throw ConversionError("P must have shape [\(directions), \(3 * hidden)]") }
                peepholes = try (0..<3).map { try slice(p, [d, $0 * hidden], [d + 1, ($0 + 1) * hidden], [1, hidden]) }
            }
            let dir = Direction(index: d, projected: projected, recurrent: rd,
                                activations: Array(activations[(d * perDirection)..<((d + 1) * perDirection)]),
                                peepholes: peepholes, resetBias: resetBias)
            var h = try initialState(ctx, 5, d, batch: batch, hidden: hidden, layout: layout)
            var c = cell == .lstm ? try initialState(ctx, 6, d, batch: batch, hidden: hidden, layout: layout) : ""
            var outputs = Array(repeating: "", count: steps)
            let reverse = direction == "reverse" || d == 1
            for t in (reverse ? Array((0..<steps).reversed()) : Array(0..<steps)) {
                let xt = try slice(projected, [t, 0, 0], [t + 1, batch, g * hidden], [batch, g * hidden])
                var (hNext, cNext) = (h, c)
                switch cell {
                case .rnn: hNext = try rnnStep(ctx, dir, xt, h, hidden: hidden, clip: clip)
                case .gru: hNext = try gruStep(ctx, dir, xt, h, hidden: hidden, clip: clip, linearBeforeReset: linearBeforeReset)
                case .lstm: (hNext, cNext) = try lstmStep(ctx, dir, xt, h, c, hidden: hidden, clip: clip, inputForget: inputForget)
                }
                if let lengths {
                    let running = try ctx.emit(.less, [try ctx.constantNode(Double(t), dtype: .i32), lengths])
                    h = try ctx.emit(.select, [running, hNext, h])
                    if cell == .lstm { c = try ctx.emit(.select, [running, cNext, c]) }
                    outputs[t] = try ctx.emit(.select, [running, hNext, try ctx.constantNode(0)])
                } else {
                    (h, c) = (hNext, cNext)
                    outputs[t] = h
                }
            }
            if ctx.wantsOutput(0) {
                let stacked = try outputs.map { try ctx.emit(.reshape, [$0], [("shape", .ints([1, 1, batch, hidden]))]) }
                ys.append(stacked.count == 1 ? stacked[0] : try ctx.emit(.concat, stacked, [("axis", .int(0))]))
            }
            finalH.append(try ctx.emit(.reshape, [h], [("shape", .ints([1, batch, hidden]))]))
            if cell == .lstm { finalC.append(try ctx.emit(.reshape, [c], [("shape", .ints([1, batch, hidden]))])) }
        }
        func joined(_ parts: [String], axis: Int) throws -> String {
            parts.count == 1 ? parts[0] : try ctx.emit(.concat, parts, [("axis", .int(axis))])
        }
        if ctx.wantsOutput(0) {
            var y = try joined(ys, axis: 1)
            if layout == 1 { y = try ctx.emit(.transpose, [y], [("perm", .ints([2, 0, 1, 3]))]) }
            try ctx.define(0, y)
        }
        for (i, parts) in [(1, finalH), (2, finalC)] where ctx.wantsOutput(i) && !parts.isEmpty {
            var v = try joined(parts, axis: 0)
            if layout == 1 { v = try ctx.emit(.transpose, [v], [("perm", .ints([1, 0, 2]))]) }
            try ctx.define(i, v)
        }
    }

    /// Direction `d`'s initial hidden or cell state from input `i` ([directions, batch, hidden],
    /// or [batch, directions, hidden] with layout 1), zeros when absent.
    static func initialState(_ ctx: ImportContext, _ i: Int, _ d: Int, batch: Int, hidden: Int, layout: Int) throws -> String {
        guard ctx.hasInput(i) else { return try ctx.constantNode(0, shape: [batch, hidden]) }
        let v = try ctx.operand(i), dims = try ctx.dims(v)
        let begin = layout == 0 ? [d, 0, 0] : [0, d, 0], end = layout == 0 ? [d + 1, batch, hidden] : [batch, d + 1, hidden]
        guard dims.count == 3, dims[layout == 0 ? 1 : 0] == batch, dims[2] == hidden, dims[layout == 0 ? 0 : 1] > d else {
            throw ConversionError("initial state (input \(i)) of shape \(dims) does not fit batch \(batch) and hidden_size \(hidden)")
        }
        let s = try ctx.emit(.slice, [v], [("begin", .ints(begin)), ("end", .ints(end))])
        return try ctx.emit(.reshape, [s], [("shape", .ints([batch, hidden]))])
    }

    /// Gate k (of width `hidden`) of a [batch, gates·hidden] value.
    static func gate(_ ctx: ImportContext, _ v: String, _ k: Int, hidden: Int) throws -> String {
        let batch = try ctx.dims(v)[0]
        return try ctx.emit(.slice, [v], [("begin", .ints([0, k * hidden])), ("end", .ints([batch, (k + 1) * hidden]))])
    }

    static func clipped(_ ctx: ImportContext, _ v: String, _ clip: Double?) throws -> String {
        guard let clip else { return v }
        return try ctx.emit(.max, [try ctx.emit(.min, [v, try ctx.constantNode(clip)]), try ctx.constantNode(-clip)])
    }

    static func recurrentProduct(_ ctx: ImportContext, _ h: String, _ weights: String) throws -> String {
        try ctx.emit(.matmul, [h, weights], [("transpose_b", .bool(true))])
    }

    /// Ht = f(Xt·Wᵀ + Ht-1·Rᵀ + Wb + Rb)
    static func rnnStep(_ ctx: ImportContext, _ dir: Direction, _ xt: String, _ h: String, hidden: Int, clip: Double?) throws -> String {
        let pre = try ctx.emit(.add, [xt, try recurrentProduct(ctx, h, dir.recurrent)])
        return try dir.activations[0].apply(ctx, try clipped(ctx, pre, clip))
    }

    /// z, r = f(…); h̃ = g(Xt·Whᵀ + (r ⊙ Ht-1)·Rhᵀ + Rbh + Wbh), or with linear_before_reset
    /// g(Xt·Whᵀ + r ⊙ (Ht-1·Rhᵀ + Rbh) + Wbh); Ht = (1 − z) ⊙ h̃ + z ⊙ Ht-1.
    static func gruStep(_ ctx: ImportContext, _ dir: Direction, _ xt: String, _ h: String, hidden: Int, clip: Double?, linearBeforeReset: Bool) throws -> String {
        let (f, gAct) = (dir.activations[0], dir.activations[1])
        let rAll = dir.recurrent
        let rZR = try ctx.emit(.slice, [rAll], [("begin", .ints([0, 0])), ("end", .ints([2 * hidden, hidden]))])
        let rH = try ctx.emit(.slice, [rAll], [("begin", .ints([2 * hidden, 0])), ("end", .ints([3 * hidden, hidden]))])
        let zr = try ctx.emit(.add, [try ctx.emit(.slice, [xt], [("begin", .ints([0, 0])), ("end", .ints([try ctx.dims(xt)[0], 2 * hidden]))]),
                                     try recurrentProduct(ctx, h, rZR)])
        let z = try f.apply(ctx, try clipped(ctx, try gate(ctx, zr, 0, hidden: hidden), clip))
        let r = try f.apply(ctx, try clipped(ctx, try gate(ctx, zr, 1, hidden: hidden), clip))
        let xh = try gate(ctx, xt, 2, hidden: hidden)
        let recurrent: String
        if linearBeforeReset {
            var hr = try recurrentProduct(ctx, h, rH)
            if let rb = dir.resetBias { hr = try ctx.emit(.add, [hr, rb]) }
            recurrent = try ctx.emit(.mul, [r, hr])
        } else {
            recurrent = try recurrentProduct(ctx, try ctx.emit(.mul, [r, h]), rH)
        }
        let candidate = try gAct.apply(ctx, try clipped(ctx, try ctx.emit(.add, [xh, recurrent]), clip))
        // (1 − z) ⊙ h̃ + z ⊙ Ht-1 = h̃ + z ⊙ (Ht-1 − h̃)
        return try ctx.emit(.add, [candidate, try ctx.emit(.mul, [z, try ctx.emit(.sub, [h, candidate])])])
    }

    /// Gates i, o, f, c (ONNX's order) with optional peepholes; Ct = f ⊙ Ct-1 + i ⊙ g(c̃),
    /// Ht = o ⊙ h(Ct); input_forget couples f = 1 − i.
    static func lstmStep(_ ctx: ImportContext, _ dir: Direction, _ xt: String, _ h: String, _ c: String,
                         hidden: Int, clip: Double?, inputForget: Bool) throws -> (String, String) {
        let (f, g, hAct) = (dir.activations[0], dir.activations[1], dir.activations[2])
        let pre = try ctx.emit(.add, [xt, try recurrentProduct(ctx, h, dir.recurrent)])
        var i = try gate(ctx, pre, 0, hidden: hidden), o = try gate(ctx, pre, 1, hidden: hidden)
        var forget = try gate(ctx, pre, 2, hidden: hidden)
        let candidate = try gate(ctx, pre, 3, hidden: hidden)
        if dir.peepholes.count == 3 {
            i = try ctx.emit(.add, [i, try ctx.emit(.mul, [dir.peepholes[0], c])])
            forget = try ctx.emit(.add, [forget, try ctx.emit(.mul, [dir.peepholes[2], c])])
        }
        let it = try f.apply(ctx, try clipped(ctx, i, clip))
        let ft = inputForget ? try ctx.emit(.sub, [try ctx.constantNode(1), it]) : try f.apply(ctx, try clipped(ctx, forget, clip))
        let ct = try g.apply(ctx, try clipped(ctx, candidate, clip))
        let cNext = try ctx.emit(.add, [try ctx.emit(.mul, [ft, c]), try ctx.emit(.mul, [it, ct])])
        if dir.peepholes.count == 3 { o = try ctx.emit(.add, [o, try ctx.emit(.mul, [dir.peepholes[1], cNext])]) }
        let ot = try f.apply(ctx, try clipped(ctx, o, clip))
        return (try ctx.emit(.mul, [ot, try hAct.apply(ctx, cNext)]), cNext)
    }
}
