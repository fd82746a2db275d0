import Foundation
import KilnData
import KilnIR
import KilnRuntime

/// The pictures of generative models, chosen by the output roles the graph declares (never by
/// output names): an output `as reconstruction` is shown beside the inputs it rebuilds
/// (autoencoder, VAE, RBM); an output `as sample` is shown once per epoch (GAN, VAE decoder,
/// RBM Gibbs chain). The first layer's weights are shown as filters for any image model.
enum GenerativeSection {
    /// Pairs of rows — inputs, then their reconstructions — from the first test batch, when
    /// the graph declares an output `as reconstruction` with one image per input example.
    static func reconstructions(graph: Graph, outputs: [String: Tensor], inputs: ReportImages?, count: Int = 16) throws -> ReportSection? {
        guard let name = graph.output(withRole: .reconstruction), let made = outputs[name], let inputs else { return nil }
        guard let rebuilt = ReportImages(features: made), rebuilt.size == inputs.size else {
            return ReportSection(title: "Reconstructions", html: "<p class=\"note\">Output '\(SVG.escape(name))' is declared <code>as reconstruction</code> but \(made.type) does not hold one \(inputs.side)×\(inputs.side) image per example, so it is not drawn.</p>")
        }
        let n = min(count, inputs.count, rebuilt.count)
        var rows: [[Float]] = []
        for start in stride(from: 0, to: n, by: 8) {
            let range = start..<min(start + 8, n)
            rows += range.map(inputs.image)
            rows += range.map(rebuilt.image)
        }
        let png = try Pictures.grid(rows, side: inputs.side, columns: 8)
        let html = "<p class=\"note\">Test images (odd rows) and the model's reconstructions, output <code>\(SVG.escape(name))</code> (even rows).</p>\n"
            + "<img src=\"reconstructions.png\" class=\"pixelated\" width=\"\(8 * (inputs.side + 2) * 3)\" alt=\"reconstructions\">"
        return ReportSection(title: "Reconstructions", html: html, files: [("reconstructions.png", png)])
    }

    /// When no output is declared `as reconstruction` or `as sample` but some output holds one
    /// image per example like the input, how to declare it: the report does not guess from
    /// names or shapes, but says what it would need.
    static func undeclaredHint(graph: Graph) -> String? {
        guard graph.output(withRole: .reconstruction) == nil, graph.output(withRole: .sample) == nil,
              let input = graph.inputs.first(where: { $0.type.dtype == .f32 }) else { return nil }
        let perExample = input.type.shape.dims.dropFirst().reduce(1, *)
        let types = graph.valueTypes
        let candidates = graph.outputs.filter { name in
            guard graph.outputRoles[name] == nil, let type = types[name], type.dtype == .f32, type.rank >= 2 else { return false }
            return type.shape.dims.first == input.type.shape.dims.first && type.shape.dims.dropFirst().reduce(1, *) == perExample
        }
        guard let name = candidates.first else { return nil }
        return "output '\(name)' has one image per example but no role; declare 'output \(name) as reconstruction' (or 'as sample') to see it in the report"
    }

    /// A grid of the first generated images of the output declared `as sample`, if any.
    static func sampleGrid(graph: Graph, outputs: [String: Tensor], count: Int = 32) throws -> [UInt8]? {
        guard let name = graph.output(withRole: .sample), let made = outputs[name] else { return nil }
        return try grid(of: made, count: count)
    }

    /// The first `count` images of a [batch, side·side] tensor as a PNG grid, 8 wide.
    static func grid(of tensor: Tensor, count: Int = 32) throws -> [UInt8]? {
        guard let images = ReportImages(features: tensor) else { return nil }
        return try Pictures.grid((0..<min(count, images.count)).map(images.image), side: images.side, columns: 8)
    }

    /// One grid of generated samples per epoch, the newest first (at most `limit` epochs).
    static func samples(_ grids: [(epoch: Int, png: [UInt8])], output: String, limit: Int = 12) -> ReportSection? {
        guard !grids.isEmpty else { return nil }
        var section = ReportSection(title: "Samples per epoch", html: "<p class=\"note\">Output <code>\(SVG.escape(output))</code> (declared <code>as sample</code>) after each epoch, the newest first.</p>\n<div class=\"row\">")
        for grid in grids.suffix(limit).reversed() {
            let name = "samples-epoch-\(grid.epoch).png"
            section.files.append((name, grid.png))
            section.html += "<figure><img src=\"\(name)\" class=\"pixelated\" style=\"width:360px;height:auto\" alt=\"samples after epoch \(grid.epoch)\"><figcaption>epoch \(grid.epoch)</figcaption></figure>\n"
        }
        section.html += "</div>"
        return section
    }

    /// The weights of the first matrix product or convolution that reads a trainable param,
    /// one image per unit: a [side·side, units] matrix's columns (dense layers, RBMs) or a
    /// convolution's [out, in, k, k] kernels (first input channel). Nil for other shapes.
    static func filters(graph: Graph, state: [String: Tensor], limit: Int = 64) throws -> ReportSection? {
        let trainable = Set(graph.trainableParams.map(\.name))
        for node in graph.nodes where node.op == .matmul || node.op == .conv2d {
            guard node.operands.count >= 2, trainable.contains(node.operands[1]), let w = state[node.operands[1]], w.dtype == .f32 else { continue }
            let dims = w.shape.dims, values = w.floats
            var images: [[Float]] = [], side = 0
            if node.op == .matmul, dims.count == 2, let s = ReportImages.side(of: dims[0]) {
                side = s
                images = (0..<min(limit, dims[1])).map { unit in Pictures.normalized((0..<dims[0]).map { values[$0 * dims[1] + unit] }) }
            } else if node.op == .conv2d, dims.count == 4, dims[2] == dims[3], dims[2] >= 2 {
                side = dims[2]
                let kernel = dims[1] * side * side
                images = (0..<min(limit, dims[0])).map { Pictures.normalized(Array(values[($0 * kernel)..<($0 * kernel + side * side)])) }
            } else {
                return nil
            }
            let columns = min(8, max(images.count, 1))
            let png = try Pictures.grid(images, side: side, columns: columns)
            let scale = max(2, 48 / side)
            let html = "<p class=\"note\">Param <code>\(SVG.escape(node.operands[1]))</code> \(w.type), read by <code>\(SVG.escape(node.name)) = \(node.op.name)</code>: one image per unit (the first \(images.count)), each scaled to its own range.</p>\n"
                + "<img src=\"filters.png\" class=\"pixelated\" width=\"\(columns * (side + 2) * scale)\" alt=\"first-layer filters\">"
            return ReportSection(title: "First-layer filters", html: html, files: [("filters.png", png)])
        }
        return nil
    }
}
