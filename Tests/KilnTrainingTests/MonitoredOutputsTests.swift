import KilnData
import KilnIR
import KilnNN
import KilnRuntime
import KilnTraining
import Testing

/// Scalar outputs besides the loss, evaluated on training and validation data after every
/// epoch (an RBM's reconstruction error and free-energy gap).
struct MonitoredOutputsTests {
    static func data(_ count: Int) throws -> Dataset {
        let pixels = (0..<(count * 16)).map { KilnRandom.uniform(seed: 9, step: 0, index: UInt64($0)) }
        return try Dataset(["x": Tensor(Shape([count, 16]), floats: pixels)])
    }

    static func trainer() throws -> Trainer {
        try Trainer(graph: try RBM(visible: 16, hidden: 4, k: 1).graph(batch: 8), optimizer: try .parse("adam:lr=0.01"), backend: .interpreter)
    }

    @Test("the monitored outputs are the scalar outputs other than the loss, in output order")
    func names() throws {
        #expect(try Self.trainer().monitoredOutputs == ["recon_error", "free_energy"])
        let classifier = try Trainer(graph: try Models.mlp(), optimizer: try .parse("sgd:lr=0.1"), backend: .interpreter)
        #expect(classifier.monitoredOutputs.isEmpty)
    }

    @Test("each epoch records them on the validation split and on as many training examples; gap = validation − train")
    func perEpoch() throws {
        let trainer = try Self.trainer()
        let data = try Self.data(80)
        let history = try trainer.fit(data, epochs: 2, validation: .fraction(0.25), progress: .silent, seed: 5)
        let record = try #require(history.last)
        #expect(record.monitored.map(\.name) == ["recon_error", "free_energy"])
        // fit's own split (same fraction and seed); the state has not changed since the last epoch's evaluation.
        let (train, held) = data.split(validationFraction: 0.25, seed: 5)
        let validation = try trainer.evaluateMonitored(held)
        let training = try trainer.evaluateMonitored(train, limit: held.count)
        for value in record.monitored {
            #expect(value.validation == validation[value.name])
            #expect(value.train == training[value.name])
            let gap = try #require(value.gap)
            #expect(abs(gap - ((validation[value.name] ?? .nan) - (training[value.name] ?? .nan))) < 1e-12)
        }
        // Different data give different values: the two columns are not one evaluation twice.
        #expect(record.monitored.contains { $0.train != $0.validation })
    }

    @Test("a limit evaluates only the first examples")
    func limit() throws {
        let trainer = try Self.trainer()
        let data = try Self.data(40)
        #expect(try trainer.evaluateMonitored(data, limit: 16) == trainer.evaluateMonitored(try data.subset(Array(0..<16))))
        #expect(try trainer.evaluateMonitored(data, limit: 16) != trainer.evaluateMonitored(data))
    }
}
