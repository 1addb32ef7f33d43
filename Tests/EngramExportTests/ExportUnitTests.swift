@testable import EngramExport
import FoundationEssentials
import NIOCore
import Testing

/// The pieces without a server: connection settings from a URL and PG* variables, and COPY text.
struct ExportUnitTests {
    @Test func settingsComeFromTheURLThenTheEnvironment() throws {
        let environment = ["PGHOST": "db.internal", "PGPORT": "6543", "PGUSER": "analyst", "PGPASSWORD": "from env", "PGDATABASE": "warehouse"]
        #expect(try PostgresSettings.resolve(url: nil, environment: environment)
            == PostgresSettings(host: "db.internal", port: 6543, user: "analyst", password: "from env", database: "warehouse"))
        #expect(try PostgresSettings.resolve(url: "postgres://ex%40port:p%2Fw@10.0.0.5:5433/sales%20db", environment: environment)
            == PostgresSettings(host: "10.0.0.5", port: 5433, user: "ex@port", password: "p/w", database: "sales db"))
        // What the URL leaves out comes from the environment, then the defaults.
        #expect(try PostgresSettings.resolve(url: "postgresql://[::1]", environment: ["PGUSER": "me"])
            == PostgresSettings(host: "::1", port: 5432, user: "me", password: nil, database: "me"))
        #expect(try PostgresSettings.resolve(url: nil, environment: [:]) == PostgresSettings(host: "localhost", port: 5432, user: "postgres", password: nil, database: "postgres"))
    }

    @Test func badSettingsAreUsageErrorsThatSayWhy() {
        func message(_ url: String?, _ environment: [String: String] = [:]) -> String? {
            do {
                _ = try PostgresSettings.resolve(url: url, environment: environment)
                return nil
            } catch {
                #expect(error.code == .usage)
                return error.message
            }
        }
        #expect(message("mysql://host/db") == "the PostgreSQL URL must start with postgres:// or postgresql://, got \"mysql://host/db\"")
        #expect(message("postgres://host/db?sslmode=require") == "the PostgreSQL URL has parameters (\"?...\"), which this tool does not take")
        #expect(message("postgres://host:99999/db") == "the PostgreSQL port \"99999\" is not a port number")
        #expect(message(nil, ["PGPORT": "five"]) == "the PostgreSQL port \"five\" is not a port number")
        #expect(message("postgres://us%zzer@host/db") == "the PostgreSQL URL has a bad %-escape in \"us%zzer\"")
    }

    @Test func copyTextEscapesAndFormatsAsPostgreSQLReadsIt() throws {
        var line = CopyLine(capacity: 16)
        line.text("a\\b\tc\nd\re")
        line.text("", emptyIsNull: true)
        line.integer(-9_223_372_036_854_775_808 as Int64)
        line.integer(UInt64.max)
        line.bytea([0x00, 0xAB, 0xFF])
        line.uuid(try #require(UUID(uuidString: "0123ABCD-4567-89EF-0123-456789ABCDEF")))
        line.optionalUUID(nil)
        line.timestamp(-1)  // one microsecond before 1970
        line.timestamp(253_402_300_799_999_999)
        line.cents(-5)
        line.textArray(["x\"y", "back\\slash", ""])
        line.realArray([0.1, -2])
        line.endRow()
        let expected = "a\\\\b\\tc\\nd\\re\t\\N\t-9223372036854775808\t18446744073709551615\t\\\\x00abff\t0123abcd-4567-89ef-0123-456789abcdef\t\\N\t"
            + "1969-12-31 23:59:59.999999+00\t9999-12-31 23:59:59.999999+00\t-0.05\t{\"x\\\\\"y\",\"back\\\\\\\\slash\",\"\"}\t{0.1,-2.0}\n"
        var buffer = line.take()
        #expect(buffer.readString(length: buffer.readableBytes) == expected)
        #expect(line.byteCount == 0)
    }
}
