// The messaging layer of a new PST ([MS-PST] 2.4, 2.7): the message store,
// the name-to-id map, the mandatory folders and tables every PST holds, and
// the folders and messages added to it. Messages are written as they come,
// and so are the rows of their folders' contents tables; folders, whose
// counts depend on everything under them, when the store is finished, so
// the counts are right by construction.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "parsers/pst/message.h"
#include "repair/pst_writer/ltp_writer.h"
#include "repair/pst_writer/name_map_writer.h"
#include "repair/pst_writer/ndb_writer.h"

namespace mailfsck::pstw {

struct StoreOptions {
    std::string display_name = "Personal Folders";
    // PR_RECORD_KEY: the store's provider UID, which every entry ID names
    // ([MS-PST] 2.4.3.2). A salvaged store keeps its own, so the entry IDs
    // its items carry still resolve.
    std::array<unsigned char, 16> record_key{};
    pst::Crypt crypt = pst::Crypt::permute;
    // PR_PST_PASSWORD: the CRC-32 of the store's password, 0 for none.
    std::uint32_t password_crc = 0;
    // The most blocks of a contents table's heap: max_heap_blocks but in
    // tests, which fill a folder without writing half a gigabyte.
    std::size_t table_heap_blocks = max_heap_blocks;
};

class StoreWriter {
public:
    StoreWriter(RandomOut& out, StoreOptions options);

    // The folders every store has, for callers to file into.
    [[nodiscard]] std::uint32_t ipm_subtree() const { return ipm_subtree_; }
    [[nodiscard]] std::uint32_t deleted_items() const { return deleted_items_; }
    [[nodiscard]] std::uint32_t search_root() const { return search_root_; }
    [[nodiscard]] std::uint32_t root() const;

    // The store's PR_DISPLAY_NAME, if another than the options gave.
    void set_display_name(std::string name) { options_.display_name = std::move(name); }
    // The password the source store asked for (its PR_PST_PASSWORD), so the
    // rebuilt store asks for the same one.
    void set_password_crc(std::uint32_t crc) { options_.password_crc = crc; }
    // Gives a folder (one of the special ones) another name.
    void rename_folder(std::uint32_t nid, const std::string& name);
    // A new folder under `parent`; its NID.
    std::uint32_t add_folder(std::uint32_t parent, const std::string& name, const std::string& container_class = {});
    // A message filed in `folder`, every property it has copied (bodies,
    // recipients, attachments and embedded messages with it). Named
    // properties are given this store's ids for the names `names` (the
    // source's map) gives them; those it cannot name are left out. A folder
    // whose contents table is full (a heap's 65,536 blocks of values: about
    // a million messages) is continued in a new sibling, "Name (2)", and so
    // on; the folder the message went to is returned.
    std::uint32_t add_message(std::uint32_t folder, const pst::Message& message, const pst::NameMap* names);
    // Each folder continued so, with the folder that took its later
    // messages, by name.
    struct Continuation {
        std::string folder;
        std::string continued_in;
    };
    [[nodiscard]] std::vector<Continuation> continuations() const;
    // Recipient properties left out so far, counted once per table: a
    // damaged source table can carry more kinds than a table has columns
    // for (a TC has at most 255, [MS-PST] 2.3.4.1).
    [[nodiscard]] std::uint64_t columns_left_out() const { return columns_left_out_; }
    // A folder-associated item (a view, a rule, a client's settings) of
    // `folder`, copied as add_message copies a message; it is listed in the
    // folder's associated contents table and counts as no content.
    void add_associated(std::uint32_t folder, const pst::Message& item, const pst::NameMap* names);

    // Writes the folders and the special nodes, then the node database;
    // the file is complete when this returns.
    void finish();

private:
    struct Folder {
        std::uint32_t nid = 0;
        std::uint32_t parent = 0;
        std::string name;
        std::vector<pst::Property> properties;  // display name, container class
        std::vector<std::uint32_t> children;
        // Its contents table, written as messages come (none for a search folder).
        std::unique_ptr<TableWriter> contents;
        std::unique_ptr<TableWriter> associated;  // its associated contents table, the same way
        std::uint32_t unread = 0;
        bool search = false;                  // a search folder: no hierarchy or FAI table
        std::uint32_t continued_in = 0;       // the folder its later messages went to, once its table filled
        std::uint32_t continues = 0;          // the folder it continues, the first of them
    };
    std::uint32_t new_folder(std::uint32_t nid, std::uint32_t parent, const std::string& name, bool search);
    // The subfolder of `parent` of that name (as Outlook compares names), 0 for none.
    [[nodiscard]] std::uint32_t child_named(std::uint32_t parent, const std::string& name) const;
    Folder& continuation(Folder& full);
    std::pair<std::uint64_t, std::uint64_t> write_message(const pst::Message& message, const pst::NameMap* names,
                                                          unsigned depth);
    std::vector<pst::Property> carried(const std::vector<pst::Property>& properties, const pst::NameMap* names);
    static std::vector<pst::Property> with_counts(const Folder& f);
    void write_folder(Folder& f);
    void write_special_nodes();
    void write_pc_node(std::uint32_t nid, std::uint32_t parent, std::vector<pst::Property> properties);
    void write_table_node(std::uint32_t nid, const std::vector<std::uint32_t>& columns,
                          const std::vector<pst::TableRow>& rows);
    [[nodiscard]] std::vector<unsigned char> entry_id(std::uint32_t nid) const;

    NdbWriter ndb_;
    StoreOptions options_;
    NameMapWriter names_;
    std::map<std::uint32_t, Folder> folders_;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> continued_;  // folder, continued in
    std::uint32_t ipm_subtree_ = 0;
    std::uint32_t deleted_items_ = 0;
    std::uint32_t search_root_ = 0;
    std::uint32_t next_folder_index_ = 0x400;
    std::uint32_t next_message_index_ = 0x10000;
    std::uint32_t next_associated_index_ = 0x8000;
    std::uint64_t columns_left_out_ = 0;
    bool finished_ = false;
};

}  // namespace mailfsck::pstw
