import KilnIR
import KilnTraining
import Testing

/// Schedules: the rate per epoch, and spec errors naming their range.
struct LearningRateScheduleTests {
    @Test("exponential multiplies by gamma every epoch; warmup ramps linearly from start·base to base")
    func rates() throws {
        let exponential = try LearningRateSchedule.parse("exponential:gamma=0.5", epochs: 10)
        #expect((0..<4).map { exponential.rate(base: 0.8, epoch: $0) } == [0.8, 0.4, 0.2, 0.1])
        let warmup = try LearningRateSchedule.parse("warmup:epochs=4,start=0.2", epochs: 10)
        let rates = (0..<6).map { warmup.rate(base: 1, epoch: $0) }
        for (got, want) in zip(rates, [0.2, 0.4, 0.6, 0.8, 1, 1]) { #expect(Swift.abs(got - want) < 1e-12) }
        #expect(try LearningRateSchedule.parse("exponential", epochs: 3) == .exponential(gamma: 0.9))
        #expect(try LearningRateSchedule.parse("warmup:epochs=2", epochs: 3) == .warmup(epochs: 2, start: 0.1))
    }

    @Test("bad specs name the option and its range", arguments: [
        ("exponential:gamma=1.5", "schedule option gamma=1.5 is out of range: expected a number in (0, 1]"),
        ("warmup", "schedule warmup needs epochs=N (the warm-up length)"),
        ("warmup:epochs=2.5", "schedule option epochs=2.5 is out of range: expected an integer in 1...1000000"),
        ("warmup:epochs=3,start=2", "schedule option start=2.0 is out of range: expected a number in [0, 1]"),
        ("exponential:every=2", "schedule exponential has no option 'every' (it takes gamma)"),
    ])
    func errors(_ spec: String, _ message: String) {
        do {
            _ = try LearningRateSchedule.parse(spec, epochs: 5)
            Issue.record("expected an error for \(spec)")
        } catch let d as Diagnostic {
            #expect(d.message == message)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
