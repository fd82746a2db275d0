import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

struct Dot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the graph as Graphviz DOT.")
    @OptionGroup var graph: GraphFile

    func run() throws {
        try reportingErrors {
            print(DotExport().dot(try graph.load()), terminator: "")
        }
    }
}
