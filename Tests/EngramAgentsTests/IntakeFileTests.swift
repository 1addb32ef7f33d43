@testable import EngramAgents
import Testing

struct IntakeFileTests {
    @Test func jsonLinesTakeEveryFieldAndDefaultTheRest() throws {
        let text = """
            {"email":"ann@acme.example","name":"Ann Lee","title":"CMO","employees":1200,"source":"referral","pageViews":7,"pricingPageViews":1,"downloads":2,"demoRequested":true}

            {"email":"ben@beta.example"}
            """
        let leads = try IntakeFile.parse(text, format: .jsonLines, leadCountMax: 10)
        #expect(leads.count == 2)
        #expect(leads[0] == IntakeLead(email: "ann@acme.example", name: "Ann Lee", title: "CMO", employees: 1200, source: "referral", pageViews: 7, pricingPageViews: 1, downloads: 2, demoRequested: true))
        #expect(leads[1] == IntakeLead(email: "ben@beta.example"))
    }

    @Test func aBadJSONLineStopsTheReadWithItsLineNumber() {
        let text = "{\"email\":\"a@b.c\"}\n{\"name\":\"no email\"}\n"
        #expect(throws: IntakeFile.Failure.self) { try IntakeFile.parse(text, format: .jsonLines, leadCountMax: 10) }
        do {
            _ = try IntakeFile.parse(text, format: .jsonLines, leadCountMax: 10)
        } catch {
            #expect(error.line == 2)
        }
        do {
            _ = try IntakeFile.parse("{\"email\":\"a@b.c\"}\n{\"email\":\"d@e.f\"}\n", format: .jsonLines, leadCountMax: 1)
            Issue.record("two leads passed a limit of one")
        } catch {
            #expect(error == IntakeFile.Failure(line: 2, reason: "more than 1 leads"))
        }
    }

    @Test func csvWithQuotesCommasAndLineBreaksInFields() throws {
        let text = "email,name,company,employees,demoRequested\r\nann@acme.example,\"Lee, Ann\",\"Acme \"\"Robotics\"\"\",1200,yes\nben@beta.example,Ben,\"Beta\nLabs\",,false\n"
        let leads = try IntakeFile.parse(text, format: .csv, leadCountMax: 10)
        #expect(leads == [
            IntakeLead(email: "ann@acme.example", name: "Lee, Ann", company: "Acme \"Robotics\"", employees: 1200, demoRequested: true),
            IntakeLead(email: "ben@beta.example", name: "Ben", company: "Beta\nLabs", employees: 0, demoRequested: false),
        ])
    }

    @Test func csvFailuresNameTheirLine() {
        let cases: [(String, IntakeFile.Failure)] = [
            ("email,color\na@b.c,red\n", IntakeFile.Failure(line: 1, reason: "unknown column \"color\"")),
            ("name\nAnn\n", IntakeFile.Failure(line: 1, reason: "no email column")),
            ("email,name\na@b.c,Ann\nd@e.f\n", IntakeFile.Failure(line: 3, reason: "1 fields, the header has 2")),
            ("email,employees\na@b.c,many\n", IntakeFile.Failure(line: 2, reason: "employees \"many\" is not a whole number")),
            ("email,demoRequested\na@b.c,maybe\n", IntakeFile.Failure(line: 2, reason: "demoRequested \"maybe\" is not true or false")),
            ("email,name\n\"a@b.c,Ann\n", IntakeFile.Failure(line: 2, reason: "a quoted field is not closed")),
            ("email,name\n\"a@b.c\"x,Ann\n", IntakeFile.Failure(line: 2, reason: "text after a closing quote")),
            ("email,name\n,Ann\n", IntakeFile.Failure(line: 2, reason: "empty email")),
        ]
        for (text, expected) in cases {
            do {
                _ = try IntakeFile.parse(text, format: .csv, leadCountMax: 10)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error == expected, "\(text)")
            }
        }
    }

    @Test func theFormatComesFromTheExtension() {
        #expect(IntakeFile.Format(path: "leads.CSV") == .csv)
        #expect(IntakeFile.Format(path: "leads.jsonl") == .jsonLines)
        #expect(IntakeFile.Format(path: "leads") == .jsonLines)
    }
}
