// Builds a large PST for the PST benchmark (bench/pst_writer_bench.sh): the
// messages of the given PST/OST files, each written COPIES times, through
// the same salvage and PST writer as `repair --to pst`.
//
//   make_pst OUT.pst COPIES STORE...
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "repair/store/file_writer.h"
#include "repair/store/pst_output.h"
#include "repair/store/store.h"

namespace {

// Every message into the PST, `copies` times over.
class RepeatSink final : public mailfsck::MessageSink {
public:
    RepeatSink(mailfsck::PstOutput& out, unsigned copies) : out_(&out), copies_(copies) {}
    void begin_folder(const std::string& folder, const mailfsck::FolderInfo& info) override { out_->begin_folder(folder, info); }
    void message(const mailfsck::OutMessage& m) override {
        for (unsigned i = 0; i < copies_; ++i) out_->message(m);
        written_ += copies_;
    }
    void lost_found(const std::string& /*file*/, std::uint64_t /*offset*/,
                    const std::vector<mailfsck::ByteView>& /*pieces*/) override {}
    void uid_index(const std::string& /*folder*/, const mailfsck::UidIndex& /*index*/) override {}
    void store_file(const std::string& /*folder*/, const std::string& /*name*/, const mailfsck::ByteView& /*bytes*/,
                    std::optional<std::int64_t> /*mtime*/) override {}
    void finish() override {}
    [[nodiscard]] std::uint64_t messages_written() const override { return written_; }
    [[nodiscard]] std::uint64_t lost_found_files() const override { return 0; }

private:
    mailfsck::PstOutput* out_;
    unsigned copies_;
    std::uint64_t written_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: make_pst OUT.pst COPIES STORE...\n");
        return 2;
    }
    try {
        mailfsck::PositionedFile file(argv[1]);
        mailfsck::PstOutput out(file, "bench");
        RepeatSink sink(out, static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)));
        for (int i = 3; i < argc; ++i) {
            const mailfsck::OpenStore store = mailfsck::open_store(argv[i], std::nullopt);
            mailfsck::StoreLog log;
            mailfsck::check_store(store, log, &sink, {});
        }
        out.finish();
        file.close();
        std::printf("%llu messages\n", static_cast<unsigned long long>(sink.messages_written()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_pst: %s\n", e.what());
        return 1;
    }
    return 0;
}
