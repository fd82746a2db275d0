import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parse, infer types and print the IR (optionally with gradients or as a training step).")
    @OptionGroup var graph: GraphFile
    @OptionGroup var transform: GraphTransformOptions
    @OptionGroup var pipeline: PipelineOptions

    func run() throws {
        try reportingErrors {
            let g = try pipeline.run(try transform.apply(try graph.load()))
            print(g.text, terminator: "")
        }
    }
}
