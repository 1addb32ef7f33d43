import FoundationEssentials

/// Reads an intake file of leads: JSON Lines (one object a line, `.jsonl`) or CSV with a header
/// row (`.csv`), with the field names of `IntakeLead`. Blank lines are skipped. A line that does
/// not parse stops the read with its line number, rather than being skipped: a lead silently
/// dropped at intake is a lead nobody ever calls.
public enum IntakeFile {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public enum Format: String, Sendable {
        case jsonLines = "jsonl"
        case csv

        /// By the file's extension; JSON Lines unless it ends in `.csv`.
        public init(path: String) {
            self = path.lowercased().hasSuffix(".csv") ? .csv : .jsonLines
        }
    }

    public static func parse(_ text: String, format: Format, leadCountMax: Int) throws(Failure) -> [IntakeLead] {
        switch format {
        case .jsonLines: try parseJSONLines(text, leadCountMax: leadCountMax)
        case .csv: try parseCSV(text, leadCountMax: leadCountMax)
        }
    }

    static func parseJSONLines(_ text: String, leadCountMax: Int) throws(Failure) -> [IntakeLead] {
        var leads: [IntakeLead] = []
        let decoder = JSONDecoder()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = trim(line)
            if trimmed.isEmpty { continue }
            guard leads.count < leadCountMax else { throw Failure(line: index + 1, reason: "more than \(leadCountMax) leads") }
            do {
                leads.append(try decoder.decode(IntakeLead.self, from: Data(trimmed.utf8)))
            } catch {
                throw Failure(line: index + 1, reason: "not a lead object: \(error)")
            }
        }
        return leads
    }

    static func parseCSV(_ text: String, leadCountMax: Int) throws(Failure) -> [IntakeLead] {
        let rows = try csvRows(text)
        guard let header = rows.first else { return [] }
        let names = header.fields.map { trim($0) }
        let known = Set(IntakeLead.CodingKeys.allCases.map(\.rawValue))
        if let unknown = names.first(where: { !known.contains($0) }) { throw Failure(line: header.line, reason: "unknown column \"\(unknown)\"") }
        guard names.contains("email") else { throw Failure(line: header.line, reason: "no email column") }
        var leads: [IntakeLead] = []
        for row in rows.dropFirst() {
            if row.fields.count == 1 && row.fields[0].isEmpty { continue }
            guard row.fields.count == names.count else { throw Failure(line: row.line, reason: "\(row.fields.count) fields, the header has \(names.count)") }
            guard leads.count < leadCountMax else { throw Failure(line: row.line, reason: "more than \(leadCountMax) leads") }
            var lead = IntakeLead(email: "")
            for (name, value) in zip(names, row.fields) { try assign(value, to: name, of: &lead, line: row.line) }
            guard !lead.email.isEmpty else { throw Failure(line: row.line, reason: "empty email") }
            leads.append(lead)
        }
        return leads
    }

    private static func assign(_ value: String, to name: String, of lead: inout IntakeLead, line: Int) throws(Failure) {
        func integer() throws(Failure) -> Int {
            if value.isEmpty { return 0 }
            guard let number = Int(value) else { throw Failure(line: line, reason: "\(name) \"\(value)\" is not a whole number") }
            return number
        }
        switch name {
        case "id": lead.id = value.isEmpty ? nil : value
        case "email": lead.email = value
        case "name": lead.name = value
        case "company": lead.company = value
        case "domain": lead.domain = value
        case "title": lead.title = value
        case "source": lead.source = value
        case "employees": lead.employees = try integer()
        case "pageViews": lead.pageViews = try integer()
        case "pricingPageViews": lead.pricingPageViews = try integer()
        case "downloads": lead.downloads = try integer()
        case "demoRequested":
            switch value.lowercased() {
            case "true", "yes", "1": lead.demoRequested = true
            case "false", "no", "0", "": lead.demoRequested = false
            default: throw Failure(line: line, reason: "demoRequested \"\(value)\" is not true or false")
            }
        default: preconditionFailure("column \(name) passed the header check")
        }
    }

    /// RFC 4180 rows: fields separated by commas, quoted fields may hold commas, line breaks and
    /// doubled quotes. Each row keeps the line it started on.
    static func csvRows(_ text: String) throws(Failure) -> [(line: Int, fields: [String])] {
        var rows: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var afterQuote = false
        var line = 1
        var rowLine = 1
        var characters = text.makeIterator()
        var pending: Character? = nil
        func nextCharacter() -> Character? {
            if let character = pending { pending = nil; return character }
            return characters.next()
        }
        while let character = nextCharacter() {
            if quoted {
                if character == "\"" {
                    if let following = characters.next() {
                        if following == "\"" { field.append("\"") } else { quoted = false; afterQuote = true; pending = following }
                    } else {
                        quoted = false
                    }
                } else {
                    if character == "\n" || character == "\r\n" { line += 1 }
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty && !afterQuote:
                quoted = true
            case ",":
                fields.append(field)
                field = ""
                afterQuote = false
            case "\n", "\r\n":
                fields.append(field)
                rows.append((rowLine, fields))
                fields = []
                field = ""
                afterQuote = false
                line += 1
                rowLine = line
            default:
                guard !afterQuote else { throw Failure(line: line, reason: "text after a closing quote") }
                field.append(character)
            }
        }
        guard !quoted else { throw Failure(line: rowLine, reason: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            rows.append((rowLine, fields))
        }
        return rows
    }

    /// The text without leading and trailing spaces, tabs and carriage returns.
    static func trim<Text: StringProtocol>(_ text: Text) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return String(text[first...last])
    }
}
