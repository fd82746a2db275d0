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

    @Test("one-cycle rises from start·base to base over the warm-up fraction, then falls to end·base, along cosines, per step")
    func oneCycle() throws {
        let schedule = try LearningRateSchedule.parse("onecycle:warmup=0.25,start=0.1,end=0.01", epochs: 4)
        #expect(schedule == .oneCycle(epochs: 4, warmup: 0.25, start: 0.1, end: 0.01))
        #expect(schedule.isPerStep && !LearningRateSchedule.cosine(epochs: 4, minimum: 0).isPerStep)
        func close(_ a: Double, _ b: Double) -> Bool { Swift.abs(a - b) < 1e-12 }
        #expect(close(schedule.rate(base: 2, epoch: 0), 0.2))                      // t = 0: start
        #expect(close(schedule.rate(base: 2, epoch: 0, progress: 0.5), 1.1))       // halfway up the cosine
        #expect(close(schedule.rate(base: 2, epoch: 1), 2))                        // t = warm-up: the peak
        #expect(close(schedule.rate(base: 2, epoch: 2, progress: 0.5), 1.01))      // halfway down
        #expect(close(schedule.rate(base: 2, epoch: 4), 0.02))                     // the end
        let steps = (0..<40).map { schedule.rate(base: 1, epoch: $0 / 10, progress: Double($0 % 10) / 10) }
        #expect(zip(steps.prefix(10), steps.dropFirst().prefix(10)).allSatisfy { $0 < $1 })
        #expect(zip(steps.dropFirst(10), steps.dropFirst(11)).allSatisfy { $0 > $1 })
        #expect(try LearningRateSchedule.parse("onecycle", epochs: 3) == .oneCycle(epochs: 3, warmup: 0.3, start: 0.04, end: 0.0001))
    }

    @Test("bad specs name the option and its range", arguments: [
        ("onecycle:warmup=1", "schedule option warmup=1.0 is out of range: expected a number in (0, 1)"),
        ("onecycle:start=0", "schedule option start=0.0 is out of range: expected a number in (0, 1]"),
        ("onecycle:end=2", "schedule option end=2.0 is out of range: expected a number in [0, 1]"),
        ("onecycle:min=0.1", "schedule onecycle has no option 'min' (it takes warmup, start, end)"),
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
