import Foundation
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

/// The report's table of monitored outputs.
struct MonitoredSectionTests {
    @Test("an RBM's report has a row per epoch with train, validation and gap of each monitored output, and samples per epoch")
    func table() throws {
        let trainer = try MonitoredOutputsTests.trainer()
        let data = try MonitoredOutputsTests.data(64)
        let history = try trainer.fit(data, epochs: 2, validation: .fraction(0.25), progress: .silent, seed: 1)
        let page = try TrainingReport(history: history).page(trainer: trainer, test: data)
        let section = try #require(page.sections.first { $0.title == "Monitored outputs" })
        #expect(section.html.contains("<th>recon_error train</th>") && section.html.contains("<th>free_energy train</th>"))
        func cell(_ v: Double?) -> String {
            let number = v ?? .nan
            return "<td>" + String(format: abs(number) >= 1e-3 || number == 0 ? "%.4f" : "%.3e", number) + "</td>"
        }
        for record in history.epochs {
            // One row per epoch: the epoch, then train, validation and gap of each output in order.
            let row = "<tr><td>\(record.epoch)</td>" + record.monitored.map { cell($0.train) + cell($0.validation) + cell($0.gap) }.joined() + "</tr>"
            #expect(section.html.contains(row), "missing row \(row)")
        }
        #expect(page.sections.contains { $0.title == "Samples per epoch" })
    }

    @Test("a classifier without other scalar outputs has no such table")
    func none() throws {
        let trainer = try Trainer(graph: try Models.mlp(batch: 8), optimizer: try .parse("sgd:lr=0.1"), backend: .interpreter)
        let images: [Float] = (0..<(16 * 784)).map { (i: Int) -> Float in Float(i % 7) / 7 }
        let labels: [Int32] = (0..<16).map { (i: Int) -> Int32 in Int32(i % 10) }
        let data = try Dataset(["images": Tensor(Shape([16, 784]), floats: images), "labels": Tensor(Shape([16]), ints: labels)])
        let history = try trainer.fit(data, epochs: 1, validation: .fraction(0.25), progress: .silent)
        #expect(history.last?.monitored.isEmpty == true)
        #expect(try !TrainingReport(history: history).page(trainer: trainer, test: data).sections.contains { $0.title == "Monitored outputs" })
    }
}
