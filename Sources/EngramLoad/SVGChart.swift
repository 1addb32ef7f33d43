/// A minimal line chart in SVG: a plot area with margins, ticks, polylines and a legend. Points
/// are fractions of the plot area (0...1 on both axes, y up).
struct SVGChart {
    let width: Int
    let height: Int
    let left = 90
    let right = 220
    let top = 30
    let bottom = 40

    var plotWidth: Double { Double(width - left - right) }
    var plotHeight: Double { Double(height - top - bottom) }

    func x(_ fraction: Double) -> String { format(Double(left) + Swift.min(1, Swift.max(0, fraction)) * plotWidth, 1) }
    func y(_ fraction: Double) -> String { format(Double(top) + (1 - Swift.min(1, Swift.max(0, fraction))) * plotHeight, 1) }

    func open(title: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
        <text x="\(left)" y="18">\(escape(title))</text>
        <rect x="\(left)" y="\(top)" width="\(Int(plotWidth))" height="\(Int(plotHeight))" fill="none" stroke="#999"/>

        """
    }

    func xTick(_ label: String, fraction: Double) -> String {
        "<line x1=\"\(x(fraction))\" y1=\"\(y(0))\" x2=\"\(x(fraction))\" y2=\"\(y(1))\" stroke=\"#eee\"/><text x=\"\(x(fraction))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(escape(label))</text>\n"
    }

    func yTicks(maximum: Double, unit: String) -> String {
        var ticks = ""
        for tick in 0...4 {
            let fraction = Double(tick) / 4
            let value = maximum * fraction
            let digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
            ticks += "<line x1=\"\(x(0))\" y1=\"\(y(fraction))\" x2=\"\(x(1))\" y2=\"\(y(fraction))\" stroke=\"#eee\"/><text x=\"\(left - 6)\" y=\"\(y(fraction))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(format(value, digits)) \(escape(unit))</text>\n"
        }
        return ticks
    }

    func polyline(_ points: [(Double, Double)], color: String, dashed: Bool = false) -> String {
        let coordinates = points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
        return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(coordinates)\"/>\n"
    }

    func legend(_ label: String, index: Int, color: String) -> String {
        let legendX = width - right + 12
        let legendY = top + 14 + index * 18
        return "<line x1=\"\(legendX)\" y1=\"\(legendY)\" x2=\"\(legendX + 20)\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"2\"/><text x=\"\(legendX + 26)\" y=\"\(legendY)\" dominant-baseline=\"middle\">\(escape(label))</text>\n"
    }
}
