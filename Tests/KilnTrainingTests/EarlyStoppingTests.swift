import KilnNN
import KilnRuntime
import KilnTraining
import Testing

/// Early stopping: a NaN epoch is never the best, and the best state is what is restored.
struct EarlyStoppingTests {
    func state(_ v: Float) -> [String: Tensor] { ["w": Tensor.scalar(v)] }

    @Test("a NaN first epoch is not the best; the next finite one is")
    func nanFirst() {
        var e = EarlyStopping(patience: 2)
        #expect(e.record(epoch: 1, loss: .nan, state: state(1), steps: 10) == .keepGoing)
        #expect(e.best == nil)
        #expect(e.record(epoch: 2, loss: 0.5, state: state(2), steps: 20) == .keepGoing)
        #expect(e.best?.epoch == 2)
        #expect(e.record(epoch: 3, loss: .nan, state: state(3), steps: 30) == .keepGoing)
        #expect(e.record(epoch: 4, loss: .infinity, state: state(4), steps: 40) == .stop(bestEpoch: 2))
        #expect(e.best?.state["w"]?.floats == [2])
    }

    @Test("only NaN losses: stop with nothing to restore")
    func allNaN() {
        var e = EarlyStopping(patience: 2)
        #expect(e.record(epoch: 1, loss: .nan, state: state(1), steps: 1) == .keepGoing)
        #expect(e.record(epoch: 2, loss: .nan, state: state(2), steps: 2) == .stop(bestEpoch: nil))
    }

    @Test("patience counts from the last improvement, from a resumed epoch too")
    func resumed() {
        var e = EarlyStopping(patience: 1, firstEpoch: 6)
        #expect(e.record(epoch: 6, loss: 1.0, state: state(6), steps: 1) == .keepGoing)
        #expect(e.record(epoch: 7, loss: 0.9, state: state(7), steps: 2) == .keepGoing)
        #expect(e.record(epoch: 8, loss: 0.95, state: state(8), steps: 3) == .stop(bestEpoch: 7))
    }
}
