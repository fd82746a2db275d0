import Foundation
import KilnData
import KilnIR
import KilnPasses

/// The compiled model in the report: the optimised training step drawn by Graphviz (fused
/// kernels as clusters), its memory plan, and — on the JIT — the kernels that took the most
/// time over a few profiled training steps.
public struct ModelSection {
    /// The training step's DOT text (always written, so it can be rendered elsewhere).
    public let dot: String
    public let rendering: Graphviz.Outcome
    let nodes: Int
    let fusedKernels: Int
    let memory: [(graph: String, plan: MemoryPlan?)]
    let largest: [(name: String, bytes: Int)]
    /// Seconds per kernel function, summed over `profiledSteps` steps.
    public var profile: [String: Double] = [:]
    public var profiledSteps = 0
    let backend: BackendKind
    /// Graphs with more operations are not laid out (see `init`).
    public static let largestDrawn = 1500

    /// Renders the training graph (once: it does not change while training runs).
    public init(trainer: Trainer, render: Bool = true) {
        let graph = trainer.trainingGraph
        dot = DotExport().dot(graph)
        nodes = graph.nodes.reduce(0) { $0 + ($1.region?.count ?? 1) }
        if !render {
            rendering = .unavailable("not rendered")
        } else if nodes > Self.largestDrawn {
            // An unrolled LSTM's step has thousands of operations: dot would hold up training
            // for minutes and draw an unreadable picture.
            rendering = .unavailable("the training step has \(nodes) operations, more than the \(Self.largestDrawn) drawn here; render graph.dot yourself (dot -Tsvg graph.dot)")
        } else {
            rendering = Graphviz.svg(dot)
        }
        fusedKernels = graph.nodes.filter { $0.region != nil }.count
        memory = [("training step", graph.memoryPlan), ("evaluation", trainer.evaluationGraph.memoryPlan)]
        let sizes: [(name: String, bytes: Int)] = (graph.memoryPlan?.allocations ?? [:]).map { (name: $0.key, bytes: $0.value.size) }
        // Largest first, ties by name (typed: the inferred form took the type checker 4.5 s).
        let ordered = sizes.sorted { (a: (name: String, bytes: Int), b: (name: String, bytes: Int)) -> Bool in
            a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name
        }
        largest = Array(ordered.prefix(8))
        backend = trainer.backend
    }

    var section: ReportSection {
        var s = ReportSection(title: "The compiled model", html: "")
        s.add("graph.dot", text: dot)
        var html = "<p class=\"note\">The optimised training step (forward, gradients, optimiser update): \(nodes) operations, \(fusedKernels) fused kernels drawn as grey clusters; outputs in green, params in yellow, optimiser state in grey. Source: <a href=\"graph.dot\">graph.dot</a>.</p>\n"
        switch rendering {
        case .svg(let svg):
            s.add("graph.svg", text: svg)
            html += "<div class=\"graph\"><a href=\"graph.svg\"><img src=\"graph.svg\" alt=\"training graph\"></a></div>\n"
        case .unavailable(let why):
            html += "<p class=\"note\" id=\"no-graphviz\">No picture of the graph: \(SVG.escape(why)).</p>\n"
        }
        html += "<h3>Memory plan</h3>\n<ul>"
        for (name, plan) in memory {
            html += "<li>\(name): \(SVG.escape(plan?.summary ?? "not planned (unoptimised run)"))</li>"
        }
        html += "</ul>\n"
        if !largest.isEmpty {
            html += "<table><tr><th>largest buffers of the training step</th><th>bytes</th></tr>"
            for (name, bytes) in largest { html += "<tr><td><code>\(SVG.escape(name))</code></td><td>\(formatBytes(bytes))</td></tr>" }
            html += "</table>\n"
        }
        html += "<h3>Kernel profile</h3>\n"
        if profiledSteps > 0, !profile.isEmpty {
            let total = profile.values.reduce(0, +)
            html += String(format: "<p class=\"note\">JIT, mean over %ld training steps: %.3f ms per step in kernels.</p>\n", profiledSteps, 1000 * total / Double(profiledSteps))
            html += "<table><tr><th>kernel function</th><th>ms per step</th><th>share</th></tr>"
            for (name, t) in profile.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }).prefix(12) {
                html += String(format: "<tr><td><code>%@</code></td><td>%.3f</td><td>%.1f%%</td></tr>", SVG.escape(name),
                               1000 * t / Double(profiledSteps), 100 * t / max(total, 1e-12))
            }
            html += "</table>"
        } else if backend == .jit {
            html += "<p class=\"note\">Profiled after a few steps of the first epoch; not yet available.</p>"
        } else {
            html += "<p class=\"note\">Per-kernel times are measured on the JIT: train with <code>--backend jit</code>.</p>"
        }
        s.html = html
        return s
    }
}
