/// Why an export failed, with the exit code scripts can branch on (docs/EXPORT.md, "Exit codes").
///
/// A struct over a code, as the engine's and the client's errors are: codes can be added without
/// breaking a `switch`.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: Sendable, Hashable {
            case usage, engramUnreachable, engram, postgresUnreachable, postgresAuthentication, schemaConflict, noPreviousExport, postgres, io
        }

        fileprivate let base: Base

        /// A flag or setting is wrong (also the argument parser's own errors).
        public static let usage = Code(base: .usage)
        /// engramd could not be reached, or refused the token.
        public static let engramUnreachable = Code(base: .engramUnreachable)
        /// engramd answered a request with an error, or sent bytes that do not check out.
        public static let engram = Code(base: .engram)
        /// PostgreSQL could not be reached.
        public static let postgresUnreachable = Code(base: .postgresUnreachable)
        /// PostgreSQL refused the user or password, or the database does not exist.
        public static let postgresAuthentication = Code(base: .postgresAuthentication)
        /// The target schema exists and is not the export's, or is of another layout, or another
        /// export is writing it.
        public static let schemaConflict = Code(base: .schemaConflict)
        /// An incremental export found no previous export to continue, or one of another
        /// namespace or server, or a server that is behind it.
        public static let noPreviousExport = Code(base: .noPreviousExport)
        /// PostgreSQL failed a statement.
        public static let postgres = Code(base: .postgres)
        /// Writing the `--sql` file failed.
        public static let io = Code(base: .io)

        /// The process exit status for this code.
        public var exitCode: Int32 {
            switch base {
            case .usage: 2
            case .engramUnreachable: 3
            case .engram: 4
            case .postgresUnreachable: 5
            case .postgresAuthentication: 6
            case .schemaConflict: 7
            case .noPreviousExport: 8
            case .postgres: 9
            case .io: 10
            }
        }

        public var description: String {
            switch base {
            case .usage: "usage"
            case .engramUnreachable: "engram unreachable"
            case .engram: "engram"
            case .postgresUnreachable: "postgres unreachable"
            case .postgresAuthentication: "postgres authentication"
            case .schemaConflict: "schema conflict"
            case .noPreviousExport: "no previous export"
            case .postgres: "postgres"
            case .io: "io"
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
