import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Parse, infer types and print the IR.")
    @OptionGroup var graph: GraphFile

    func run() throws {
        try reportingErrors {
            print(try graph.load().text, terminator: "")
        }
    }
}
