import ArgumentParser
import KilnIR

struct Ops: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every op with its operands and attributes (Markdown table).")

    func run() {
        print("| op | operands | attributes (default) |")
        print("|---|---|---|")
        for op in OpKind.allCases {
            let attributes = op.attributes.map { spec -> String in
                switch spec.defaultValue {
                case .required: return "`\(spec.name)`: \(spec.kind.rawValue)"
                case .value(let v): return "`\(spec.name)`: \(spec.kind.rawValue) (\(v))"
                case .sameAs(let other): return "`\(spec.name)`: \(spec.kind.rawValue) (= \(other))"
                }
            }.joined(separator: ", ")
            print("| `\(op.name)` | \(op.arity.description) | \(attributes.isEmpty ? "—" : attributes) |")
        }
    }
}
