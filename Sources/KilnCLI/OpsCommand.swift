import ArgumentParser
import KilnIR

struct Ops: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every op with its operands and attributes (Markdown table).")

    func run() {
        print("| op | operands | attributes (default) |")
        print("|---|---|---|")
        for op in OpKind.allCases { print(op.signatureRow) }
    }
}
