import Foundation
import KilnIR
import KilnPasses
import Testing

struct BatchSpecializationTests {
    func graph(_ name: String) throws -> Graph {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try Parser.parse(try String(contentsOfFile: root.appendingPathComponent("Graphs/\(name).kiln").path, encoding: .utf8), file: name)
    }

    @Test("zoo graphs re-specialise: inputs, reshapes, whole-batch slices, noise shapes", arguments: ["mlp", "lenet5", "rnn", "lstm", "gan", "transformer", "autoencoder", "vae"])
    func zoo(name: String) throws {
        let g = try inferTypes(try graph(name))
        let from = try #require(g.inputs.first?.type.shape.dims.first)
        let s = try BatchSpecialization(from: from, to: 5).run(g)
        for input in s.inputs where g.input(named: input.name)?.type.shape.dims.first == from {
            #expect(input.type.shape.dims.first == 5)
        }
        for output in g.outputs {
            let old = try #require(g.valueTypes[output]), new = try #require(s.valueTypes[output])
            #expect(Array(old.shape.dims.dropFirst()) == Array(new.shape.dims.dropFirst()))
        }
        try Verifier().verify(s)
    }

    @Test("a batch hidden where the rewrite cannot see it is refused, naming the value")
    func refused() throws {
        let text = "graph g {\n input x: f32[4, 3]\n t = transpose(x, perm=[1, 0])\n r = reshape(t, shape=[3, 4])\n output r\n}\n"
        // The exact refusal: any other Diagnostic (a parse error, a type error) is not this behaviour.
        do {
            _ = try BatchSpecialization(from: 4, to: 6).run(try Parser.parse(text))
            Issue.record("a hidden batch was re-specialised")
        } catch let d as Diagnostic {
            #expect(d.message == "cannot re-specialise graph 'g' from batch 4 to 6: reshape: cannot reshape f32[3, 6] (18 elements) to [3, 4] (12 elements)")
            #expect(d.location?.line == 4 && d.location?.column == 6, "located at the reshape 'r'")
        }
    }
}
