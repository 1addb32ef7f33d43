/// Where PostgreSQL is and who to be there: from a URL
/// (`postgres://user:password@host:port/database`), falling back field by field on the usual
/// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE` variables, then on libpq's
/// defaults (localhost, 5432, the user `postgres`, a database named like the user). TLS is not
/// offered: the export runs next to the database or over a tunnel (docs/EXPORT.md).
public struct PostgresSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Resolves the settings from an optional URL and the environment.
    public static func resolve(url: String?, environment: [String: String]) throws(ExportError) -> PostgresSettings {
        var host = environment["PGHOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        var portText = environment["PGPORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "5432"
        var user = environment["PGUSER"].flatMap { $0.isEmpty ? nil : $0 } ?? "postgres"
        var password = environment["PGPASSWORD"]
        var database = environment["PGDATABASE"].flatMap { $0.isEmpty ? nil : $0 }
        if let url {
            let parts = try parse(url)
            host = parts.host ?? host
            portText = parts.port ?? portText
            user = parts.user ?? user
            password = parts.password ?? password
            database = parts.database ?? database
        }
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw ExportError(.usage, "the PostgreSQL port \"\(portText)\" is not a port number")
        }
        return PostgresSettings(host: host, port: port, user: user, password: password, database: database ?? user)
    }

    /// `postgres://` or `postgresql://`, then `[user[:password]@][host][:port][/database]`; `%XX`
    /// escapes are decoded in the user, password and database. Query parameters are refused
    /// rather than ignored, since `sslmode=require` ignored would be a surprise.
    static func parse(_ url: String) throws(ExportError) -> (host: String?, port: String?, user: String?, password: String?, database: String?) {
        var rest = Substring(url)
        guard let scheme = ["postgresql://", "postgres://"].first(where: { rest.hasPrefix($0) }) else {
            throw ExportError(.usage, "the PostgreSQL URL must start with postgres:// or postgresql://, got \"\(url)\"")
        }
        rest = rest.dropFirst(scheme.count)
        guard !rest.contains("?") else { throw ExportError(.usage, "the PostgreSQL URL has parameters (\"?...\"), which this tool does not take") }
        var database: String?
        if let slash = rest.firstIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            database = name.isEmpty ? nil : try decode(name)
            rest = rest[..<slash]
        }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = try decode(credentials[..<colon])
                password = try decode(credentials[credentials.index(after: colon)...])
            } else {
                user = try decode(credentials)
            }
        }
        var host: String? = rest.isEmpty ? nil : String(rest)
        var port: String?
        if let colon = rest.lastIndex(of: ":"), !rest.hasPrefix("[") || rest[..<colon].hasSuffix("]") {
            host = colon == rest.startIndex ? nil : String(rest[..<colon])
            port = String(rest[rest.index(after: colon)...])
        }
        if let bracketed = host, bracketed.hasPrefix("["), bracketed.hasSuffix("]") { host = String(bracketed.dropFirst().dropLast()) }
        return (host, port, user?.isEmpty == true ? nil : user, password, database)
    }

    private static func decode(_ text: Substring) throws(ExportError) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex, utf8.index(after: first) < utf8.endIndex,
                      let high = hexValue(utf8[first]), let low = hexValue(utf8[utf8.index(after: first)]) else {
                    throw ExportError(.usage, "the PostgreSQL URL has a bad %-escape in \"\(text)\"")
                }
                bytes.append(high << 4 | low)
                index = utf8.index(index, offsetBy: 3)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
