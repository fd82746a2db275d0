import Foundation
import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// `kiln summary` on a .kiln graph and on a saved model.
@Suite(.serialized)
struct SummaryCommandTests {
    @Test("a graph and the model saved from it print the same table; --freeze moves params to the frozen column")
    func graphAndModel() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let graph = try writeFile(PredictCommandTests.graph, "tiny.kiln", in: directory)
        let trainer = try Trainer(graph: try Parser.parse(PredictCommandTests.graph), optimizer: try .parse("sgd"), backend: .interpreter)
        try Model(trainer).save(to: directory + "/tiny.safetensors")
        let fromGraph = try runKiln(["summary", graph])
        #expect(fromGraph.status == 0, "\(fromGraph.err)")
        #expect(fromGraph.out.hasPrefix("graph tiny (batch 4)\nlayer"))
        #expect(fromGraph.out.contains("planned training step: arena "))
        let fromModel = try runKiln(["summary", directory + "/tiny.safetensors"])
        #expect(fromModel.out == fromGraph.out)
        let frozen = try runKiln(["summary", graph, "--freeze", "w"])
        let total = frozen.out.split(separator: "\n").first { $0.hasPrefix("total") }.map(String.init) ?? ""
        #expect(total.split(separator: " ").prefix(4) == ["total", "2", "6", "2"])
        let bad = try runKiln(["summary", graph, "--freeze", "nothing*"])
        #expect(bad.status == 1)
        #expect(bad.err.hasPrefix("error: --freeze: "))
    }
}
