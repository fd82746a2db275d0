import Foundation
import KilnIR
import KilnNN
import KilnRuntime
import Testing

/// RNNCell, LSTMCell, GRUCell and the RNN unroller.
struct RecurrentLayerTests {
    @Test("the unroller returns the last output [batch, hidden] or every output [batch, time, hidden]")
    func shapes() {
        #expect(outputShape(RNN(RNNCell(4)), [2, 3, 5]) == [2, 4])
        #expect(outputShape(RNN(LSTMCell(4)), [2, 3, 5]) == [2, 4])
        #expect(outputShape(RNN(GRUCell(4)), [2, 3, 5]) == [2, 4])
        #expect(outputShape(RNN(RNNCell(4), returnSequences: true), [2, 3, 5]) == [2, 3, 4])
        #expect(outputShape(RNN(LSTMCell(4), returnSequences: true), [2, 3, 5]) == [2, 3, 4])
        #expect(outputShape(RNN(GRUCell(4), returnSequences: true), [2, 1, 5]) == [2, 1, 4])
        #expect(outputShape(RNN(GRUCell(4)), [2, 5]) == nil)
        // Stacked: all outputs of one layer are the sequence of the next.
        #expect(outputShape(Sequential { RNN(LSTMCell(6), returnSequences: true); RNN(GRUCell(4)) }, [2, 3, 5]) == [2, 4])
    }

    @Test("one set of params for every step: gates side by side, named after the cell")
    func params() throws {
        for (cell, gates, kind) in [(RNN(RNNCell(4)) as any Layer, 1, "rnncell"), (RNN(LSTMCell(4)), 4, "lstmcell"), (RNN(GRUCell(4)), 3, "grucell")] {
            let m = ModelBuilder("p")
            m.output(cell(m.input("x", .f32, [2, 6, 5])))
            let graph = try m.build()
            #expect(graph.params.map(\.name) == ["\(kind)1.weight", "\(kind)1.recurrent_weight", "\(kind)1.bias"])
            #expect(graph.params.map(\.type.shape.dims) == [[5, gates * 4], [4, gates * 4], [gates * 4]])
            #expect(graph.nodes.filter { $0.op == .matmul && $0.operands.contains("\(kind)1.weight") }.count == 6)
        }
    }

    @Test("gradients through every cell, last output and all outputs", arguments: ["rnn", "lstm", "gru"])
    func gradient(_ kind: String) throws {
        for sequences in [false, true] {
            try LayerGradient.check("\(kind) \(sequences)") { m in
                let x = LayerGradient.input(m, [2, 3, 2])
                switch kind {
                case "rnn": return RNN(RNNCell(3), returnSequences: sequences)(x)
                case "lstm": return RNN(LSTMCell(3), returnSequences: sequences)(x)
                default: return RNN(GRUCell(3), returnSequences: sequences)(x)
                }
            }
        }
    }

    @Test("cells step by step: a nil state is the zero state; an initial state can be given")
    func stepping() throws {
        let m = ModelBuilder("s")
        let cell = LSTMCell(3)
        let x0 = m.input("x0", .f32, [2, 4]), x1 = m.input("x1", .f32, [2, 4])
        let s1 = cell(x0)
        let s2 = cell(x1, state: s1)
        #expect(s2.hidden.shape == [2, 3] && s2.cell.shape == [2, 3])
        let rnn = RNN(cell)
        let y = rnn.unroll(m.input("seq", .f32, [2, 5, 4]), from: s2, at: CallSite(file: #fileID, line: #line))
        #expect(y.shape == [2, 3])
        #expect(rnn.finalState?.cell.shape == [2, 3])
        m.output(y)
        #expect(try m.build().params.count == 3)
    }

    @Test("GRU and LSTM compute the documented equations (one unit, two steps)")
    func values() throws {
        func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        let xs: [Double] = [0.5, -1.2]
        // GRU: gates r, z, n; W = [0.3, -0.4, 0.8], U = [0.6, 0.2, -0.5], b = [0.1, 0, -0.2].
        let (w, u, b) = ([0.3, -0.4, 0.8], [0.6, 0.2, -0.5], [0.1, 0.0, -0.2])
        var h = 0.0
        for x in xs {
            let r = sigmoid(x * w[0] + h * u[0] + b[0]), z = sigmoid(x * w[1] + h * u[1] + b[1])
            let n = Foundation.tanh(x * w[2] + (r * h) * u[2] + b[2])
            h = (1 - z) * n + z * h
        }
        // LSTM: gates i, f, g, o.
        let (lw, lu, lb) = ([0.3, -0.4, 0.8, 0.5], [0.6, 0.2, -0.5, 0.9], [0.1, 0.7, -0.2, 0.0])
        var (lh, lc) = (0.0, 0.0)
        for x in xs {
            let p = (0..<4).map { x * lw[$0] + lh * lu[$0] + lb[$0] }
            lc = sigmoid(p[1]) * lc + sigmoid(p[0]) * Foundation.tanh(p[2])
            lh = sigmoid(p[3]) * Foundation.tanh(lc)
        }
        let m = ModelBuilder("v")
        let x = m.input("x", .f32, [1, 2, 1])
        let gru = RNN(GRUCell(1, name: "gru")), lstm = RNN(LSTMCell(1, name: "lstm"))
        let a = gru(x), c = lstm(x)
        m.output(a, c)
        let state: [String: Tensor] = [
            "gru.weight": Tensor([1, 3], floats: w.map(Float.init)), "gru.recurrent_weight": Tensor([1, 3], floats: u.map(Float.init)),
            "gru.bias": Tensor([3], floats: b.map(Float.init)),
            "lstm.weight": Tensor([1, 4], floats: lw.map(Float.init)), "lstm.recurrent_weight": Tensor([1, 4], floats: lu.map(Float.init)),
            "lstm.bias": Tensor([4], floats: lb.map(Float.init)),
        ]
        let out = try evaluate(try m.build(), inputs: ["x": Tensor([1, 2, 1], floats: xs.map(Float.init))], state: state)
        #expect(Swift.abs(Double(try #require(out[a.name]).floats[0]) - h) < 1e-6)
        #expect(Swift.abs(Double(try #require(out[c.name]).floats[0]) - lh) < 1e-6)
    }
}
