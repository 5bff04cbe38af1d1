// Placeholder so the part links before its first source lands; removed with it.
namespace augur { int replay_placeholder = 0; }
