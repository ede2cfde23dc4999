import Foundation

/// The loss curve as a self-contained SVG file: training loss (line) and validation loss (line with dots)
/// against training tokens seen. It opens in any browser.
public enum LossPlot {
    /// An SVG document plotting the training and validation losses of `records` against tokens seen.
    public static func svg(_ records: [TrainingRecord], title: String = "Recur training") -> String {
        let width = 720.0, height = 420.0, left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let train = records.filter { $0.event == .train && $0.loss.isFinite }
        let validation = records.filter { $0.event == .validation && $0.loss.isFinite }
        let all = train + validation
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="24" font-size="15">\(escape(title))</text>

        """
        guard !all.isEmpty else { return svg + "<text x=\"\(left)\" y=\"80\">no losses logged yet</text>\n</svg>\n" }
        let xMaximum = Double(max(1, all.map(\.tokens).max()!))
        var yMinimum = all.map(\.loss).min()!, yMaximum = all.map(\.loss).max()!
        if yMaximum - yMinimum < 1e-9 { yMinimum -= 0.5; yMaximum += 0.5 }
        let pad = (yMaximum - yMinimum) * 0.05
        yMinimum -= pad
        yMaximum += pad
        func x(_ tokens: Int) -> Double { left + Double(tokens) / xMaximum * (width - left - right) }
        func y(_ loss: Double) -> Double { top + (yMaximum - loss) / (yMaximum - yMinimum) * (height - top - bottom) }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }
        // Axes and ticks.
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"black\"/>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"black\"/>\n"
        for i in 0...5 {
            let loss = yMinimum + (yMaximum - yMinimum) * Double(i) / 5, tokens = Int(xMaximum * Double(i) / 5)
            svg += "<line x1=\"\(left)\" y1=\"\(number(y(loss)))\" x2=\"\(width - right)\" y2=\"\(number(y(loss)))\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(left - 6)\" y=\"\(number(y(loss) + 4))\" text-anchor=\"end\">\(String(format: "%.3g", loss))</text>\n"
            svg += "<text x=\"\(number(x(tokens)))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(abbreviated(tokens))</text>\n"
        }
        svg += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">tokens seen</text>\n"
        svg += "<text transform=\"translate(16 \((top + height - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">loss</text>\n"
        func polyline(_ points: [TrainingRecord], color: String) -> String {
            let coordinates = points.map { "\(number(x($0.tokens))),\(number(y($0.loss)))" }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(coordinates)\"/>\n"
        }
        if !train.isEmpty { svg += polyline(train, color: "#1f77b4") }
        if !validation.isEmpty {
            svg += polyline(validation, color: "#d62728")
            for point in validation {
                svg += "<circle cx=\"\(number(x(point.tokens)))\" cy=\"\(number(y(point.loss)))\" r=\"3\" fill=\"#d62728\"/>\n"
            }
        }
        // Legend.
        svg += "<line x1=\"\(width - 190)\" y1=\"20\" x2=\"\(width - 170)\" y2=\"20\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
        svg += "<text x=\"\(width - 165)\" y=\"24\">train</text>\n"
        svg += "<line x1=\"\(width - 120)\" y1=\"20\" x2=\"\(width - 100)\" y2=\"20\" stroke=\"#d62728\" stroke-width=\"2\"/>"
        svg += "<text x=\"\(width - 95)\" y=\"24\">validation</text>\n"
        return svg + "</svg>\n"
    }

    /// 1234567 → "1.2M".
    static func abbreviated(_ value: Int) -> String {
        switch value {
        case 1_000_000_000...: String(format: "%.1fG", Double(value) / 1e9)
        case 1_000_000...: String(format: "%.1fM", Double(value) / 1e6)
        case 1_000...: String(format: "%.1fk", Double(value) / 1e3)
        default: "\(value)"
        }
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
