import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

struct Dot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the graph as Graphviz DOT (fused kernels as clusters with --optimized).")
    @OptionGroup var graph: GraphFile
    @OptionGroup var transform: GraphTransformOptions
    @OptionGroup var pipeline: PipelineOptions

    func run() throws {
        try reportingErrors {
            print(DotExport().dot(try pipeline.run(try transform.apply(try graph.load()))), terminator: "")
        }
    }
}
