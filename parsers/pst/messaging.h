// The messaging layer's access to nodes ([MS-PST] 2.4): a node (or a
// subnode: attachments, embedded messages) read as a Property Context or a
// Table Context, its subnodes resolving the values that live there. Folder
// objects are a PC and three TCs whose NIDs share the folder's index.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "parsers/pst/heap.h"
#include "parsers/pst/ltp.h"
#include "parsers/pst/node.h"

namespace mailfsck::pst {

// NID types of the messaging layer ([MS-PST] 2.2.2.1).
inline constexpr std::uint32_t nid_type_normal_folder = 0x02;
inline constexpr std::uint32_t nid_type_search_folder = 0x03;
inline constexpr std::uint32_t nid_type_message = 0x04;
inline constexpr std::uint32_t nid_type_attachment = 0x05;
inline constexpr std::uint32_t nid_type_associated_message = 0x08;
inline constexpr std::uint32_t nid_type_hierarchy_table = 0x0D;
inline constexpr std::uint32_t nid_type_contents_table = 0x0E;
inline constexpr std::uint32_t nid_type_assoc_contents_table = 0x0F;
inline constexpr std::uint32_t nid_type_attachment_table = 0x11;
inline constexpr std::uint32_t nid_type_recipient_table = 0x12;

inline constexpr std::uint32_t nid_message_store = 0x21;
inline constexpr std::uint32_t nid_root_folder = 0x122;
// A message's recipient and attachment tables are subnodes with these NIDs.
inline constexpr std::uint32_t nid_recipient_table = 0x692;
inline constexpr std::uint32_t nid_attachment_table = 0x671;

// The NID of another object of the same index: a folder's tables.
[[nodiscard]] inline std::uint32_t sibling_nid(std::uint32_t nid, std::uint32_t type) { return (nid & ~0x1FU) | type; }

// A node's two trees, as the NBT or a parent's subnode tree gives them.
struct NodeRef {
    std::uint32_t nid = 0;
    std::uint64_t bid_data = 0;
    std::uint64_t bid_sub = 0;
};

// What reading a property value held in a subnode (attachment data, a
// large body) does: keeps its bytes; reads and checks its blocks but keeps
// none (a check, which must know what an export would be without); or
// only sees that it is there. A value not kept comes back empty.
enum class SubnodeValues { kept, checked, skipped };

class Messaging {
public:
    Messaging(const NodeReader& reader, const NodeIndex& nodes) : reader_(&reader), nodes_(&nodes) {}

    // A top-level node by NID; nullopt when the NBT has none.
    [[nodiscard]] std::optional<NodeRef> node(std::uint32_t nid) const;

    // A value whose blocks cannot all be read is missing; one read from a
    // block failing its CRC is used as stored (with an issue). `read`: the
    // trees the object read so far (by default, this node's alone).
    [[nodiscard]] PropertyContext properties(const NodeRef& node, std::vector<ReadIssue>& issues,
                                             SubnodeValues values = SubnodeValues::kept, RereadBound* read = nullptr) const;
    // The same, with the node's subnodes (as `subnodes` gives them) read already.
    [[nodiscard]] PropertyContext properties(const NodeRef& node, const std::vector<Subnode>& subs,
                                             std::vector<ReadIssue>& issues, SubnodeValues values, RereadBound* read) const;
    [[nodiscard]] TableContext table(const NodeRef& node, std::vector<ReadIssue>& issues, Cells cells = Cells::kept,
                                     RereadBound* read = nullptr) const;

    // The subnodes the property context at `bid_data` names (HNIDs that
    // are NIDs, [MS-PST] 2.3.3.2), from its heap alone: what the subnode
    // tree of a node whose entry is lost must hold.
    [[nodiscard]] std::vector<std::uint32_t> subnodes_named(std::uint64_t bid_data, std::vector<ReadIssue>& issues) const;

    // The node's subnodes (attachments, tables, large values), sorted by
    // NID. A subnode tree is bounded by `read` as a data tree is: many
    // attachments of a damaged message can share one.
    [[nodiscard]] std::vector<Subnode> subnodes(const NodeRef& node, std::vector<ReadIssue>& issues,
                                                RereadBound* read = nullptr) const;

    // One value held in a subnode (`how` says what is kept), its data tree
    // counted in `read`: missing when bytes of it could not be read.
    [[nodiscard]] std::optional<std::vector<unsigned char>> subnode_value(const Subnode& sub, std::vector<ReadIssue>& issues,
                                                                        SubnodeValues how, RereadBound& read) const;

    [[nodiscard]] const NodeReader& reader() const { return *reader_; }

private:
    [[nodiscard]] Heap heap(std::uint64_t bid_data, std::vector<ReadIssue>& issues) const;
    // Reads the value of an HNID that names one of `subs` (sorted by NID).
    [[nodiscard]] SubnodeData values(const std::vector<Subnode>& subs, std::vector<ReadIssue>& issues, SubnodeValues how,
                                     RereadBound* trees) const;

    const NodeReader* reader_;
    const NodeIndex* nodes_;
};

}  // namespace mailfsck::pst
