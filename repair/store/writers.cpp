// The mbox (mboxrd) and one-file-per-message writers.
#include <cstdio>
#include <stdexcept>

#include "parsers/mime/headers.h"
#include "repair/store/file_writer.h"
#include "repair/store/sink.h"

namespace mailfsck {
namespace {

// Used when a message's own separator was lost or unusable: a strict
// envelope line, so any mbox reader (ours included) frames it.
constexpr std::string_view synthesized_separator = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970";

bool is_quoted_from(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == '>') ++i;
    return line.substr(i, 5) == "From ";
}

// Calls f(line) for each logical line of the message (mboxrd quoting undone
// when the input used it). Pieces hold whole lines.
template <typename F>
void for_each_line(const OutMessage& m, F&& f) {
    for (const ByteView& piece : m.pieces) {
        std::uint64_t p = 0;
        while (p < piece.size()) {
            const std::uint64_t e = piece.next_line(p);
            std::string_view line = piece.sub(p, e - p).text();
            if (m.unquote_mboxrd && line.size() > 1 && line[0] == '>' && is_quoted_from(line)) line.remove_prefix(1);
            f(line);
            p = e;
        }
    }
}

std::string lost_found_name(std::uint64_t offset) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%012llu.bin", static_cast<unsigned long long>(offset));
    return buf;
}

class SinkBase : public MessageSink {
public:
    explicit SinkBase(const OutputDir& dir) : dir_(dir) {}
    void lost_found(std::uint64_t input_offset, const std::vector<ByteView>& pieces) override {
        const std::filesystem::path lf = dir_.staging() / "lost+found";
        std::filesystem::create_directories(lf);
        FileWriter w(lf / lost_found_name(input_offset));
        for (const ByteView& p : pieces) w.write(p.text());
        w.close();
        ++lost_found_files_;
    }
    [[nodiscard]] std::uint64_t lost_found_files() const override { return lost_found_files_; }
    [[nodiscard]] std::uint64_t messages_written() const override { return written_; }

protected:
    const OutputDir& dir_;
    std::uint64_t written_ = 0;

private:
    std::uint64_t lost_found_files_ = 0;
};

bool is_content_length(std::string_view line) {
    return line.size() >= 15 && mime::iequals(line.substr(0, 15), "Content-Length:");
}

// Body bytes as write_mboxrd will write them, for Content-Length.
std::uint64_t mboxrd_body_length(const OutMessage& m) {
    std::uint64_t n = 0;
    bool in_headers = true;
    bool last_terminated = true;
    for_each_line(m, [&](std::string_view line) {
        if (in_headers) {
            if (line == "\n" || line == "\r\n") in_headers = false;
            return;
        }
        n += line.size() + (is_quoted_from(line) ? 1 : 0);
        last_terminated = line.ends_with('\n');
    });
    if (!last_terminated) ++n;
    for (const std::string& b : m.close_boundaries) n += b.size() + 5;
    return n;
}

class MboxSink final : public SinkBase {
public:
    MboxSink(const OutputDir& dir, const std::string& name) : SinkBase(dir), out_(dir.staging() / name) {}
    void finish() override { out_.close(); }
    void message(const OutMessage& m) override {
        write_mboxrd(out_, m);
        ++written_;
    }

private:
    FileWriter out_;
};

// One RFC 5322 file per message, numbered in store order.
class EmlSink final : public SinkBase {
public:
    explicit EmlSink(const OutputDir& dir) : SinkBase(dir) {
        std::filesystem::create_directories(dir.staging() / "messages");
    }
    void message(const OutMessage& m) override {
        char name[32];
        std::snprintf(name, sizeof name, "%06llu.eml", static_cast<unsigned long long>(written_) + 1);
        FileWriter w(dir_.staging() / "messages" / name);
        bool last_terminated = true;
        for_each_line(m, [&](std::string_view line) {
            w.write(line);
            last_terminated = line.ends_with('\n');
        });
        if (!last_terminated) w.write("\n");
        for (const std::string& b : m.close_boundaries) w.write("--" + b + "--\n");
        w.close();
        ++written_;
    }
    void finish() override {}
};

}  // namespace

void write_mboxrd(ByteOut& out, const OutMessage& m) {
    const std::uint64_t body = mboxrd_body_length(m);
    out.write(m.separator.empty() ? synthesized_separator : std::string_view(m.separator));
    out.write("\n");
    bool in_headers = true;
    bool last_terminated = true;
    for_each_line(m, [&](std::string_view line) {
        if (in_headers && (line == "\n" || line == "\r\n")) in_headers = false;
        if (in_headers && is_content_length(line)) {
            out.write("Content-Length: " + std::to_string(body));
            out.write(line.ends_with("\r\n") ? "\r\n" : "\n");
            return;
        }
        if (is_quoted_from(line)) out.write(">");
        out.write(line);
        last_terminated = line.ends_with('\n');
    });
    if (!last_terminated) out.write("\n");
    for (const std::string& b : m.close_boundaries) out.write("--" + b + "--\n");
    out.write("\n");
}

std::unique_ptr<MessageSink> make_sink(OutputFormat format, const OutputDir& dir, const std::string& store_name) {
    if (format == OutputFormat::eml) return std::make_unique<EmlSink>(dir);
    return std::make_unique<MboxSink>(dir, store_name);
}

}  // namespace mailfsck
