//===- Parser.cpp - The spec text form (.attn) ----------------------------===//
//
// A hand-written recursive descent parser over the tokens of Lexer.h. Errors
// stop the parse at the first problem (later errors are usually consequences)
// and quote the source line with a caret.
//
// Statements end at a newline; the lexer hides newlines inside () and [], so
// a statement continues while a bracket is open. An expression therefore ends
// at the first token that cannot continue it, which must be the end of the
// line (or the '}' of an attention block).
//
//===----------------------------------------------------------------------===//

#include "attnc/Spec/Parser.h"

#include "ParserImpl.h"

using namespace attnc::spec;
using namespace attnc::spec::detail;

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Parser::parseSpec(Spec &spec) {
  spec.loc = SourceLoc{file, 1, 1};
  std::optional<SourceLoc> variantLoc;
  while (true) {
    skipNewlines();
    if (tok().is(TK::Eof))
      return true;
    if (!parseStatement(spec, variantLoc))
      return false;
  }
}

bool Parser::parseStatement(Spec &spec, std::optional<SourceLoc> &variantLoc) {
  const Token kw = tok();
  if (!kw.is(TK::Ident))
    return failAt(kw, "expected a statement (" + joinNames(statementKeywords()) + "), got " +
                          kw.describe());
  llvm::StringRef w = kw.text;
  if (w == "variant") {
    consume();
    if (variantLoc)
      return fail(loc(kw), "duplicate 'variant' statement; the first is at " +
                               std::to_string(variantLoc->line) + ":" +
                               std::to_string(variantLoc->col));
    variantLoc = loc(kw);
    if (!expectIdent(spec.name, "a variant name after 'variant'", &spec.loc))
      return false;
    return expectEndOfStatement("the variant name");
  }
  if (w == "dims") {
    consume();
    while (true) {
      std::string d;
      SourceLoc l;
      if (!expectIdent(d, "a dim name", &l))
        return false;
      spec.dims.push_back(d);
      spec.dimLocs.push_back(l);
      if (!tok().isPunct(","))
        return expectEndOfStatement("the dims list (separate dims with ',')");
      consume();
    }
  }
  if (w == "input")
    return consume(), parseInput(spec);
  if (w == "let")
    return consume(), parseLet(spec);
  if (w == "attention")
    return consume(), parseAttention(spec);
  if (w == "output")
    return consume(), parseOutput(spec);
  std::string hint = didYouMean(w, statementKeywords());
  if (hint.empty() && llvm::is_contained(clauseKeywords(), w))
    hint = "; '" + w.str() + "' is a clause and belongs inside an attention { } block";
  return fail(loc(kw), "unknown statement '" + w + "'; expected one of " +
                           joinNames(statementKeywords()) + hint);
}

bool Parser::parseInput(Spec &spec) {
  InputDecl in;
  if (!expectIdent(in.name, "an input name after 'input'", &in.loc) ||
      !expectPunct(":", "after the input name (input NAME : [DIM, ...])"))
    return false;
  const Token open = tok();
  if (!expectPunct("[", "to start the shape (input NAME : [DIM, ...])"))
    return false;
  OpenScope scope(*this, open);
  while (true) {
    const Token &t = tok();
    if (t.is(TK::Ident)) {
      in.shape.push_back(t.text.str());
    } else if (t.is(TK::Number) && llvm::all_of(t.text, llvm::isDigit)) {
      double v;
      bool isInt;
      if (!numberValue(t, v, isInt))
        return false;
      in.shape.push_back(std::to_string((long long)v));
    } else {
      if (t.isPunct("]") && in.shape.empty())
        return failAt(t, "a shape needs at least one dim");
      return failAt(t, "expected a dim name or a positive integer in the shape, got " +
                           t.describe());
    }
    in.shapeLocs.push_back(loc(t));
    consume();
    if (tok().isPunct(",")) {
      consume();
      continue;
    }
    if (tok().isPunct("]")) {
      consume();
      break;
    }
    return failUnclosed(open, "]", "',' or ']' in the shape");
  }
  // An optional element type: `input off : [L] i32`.
  if (tok().is(TK::Ident)) {
    const Token &t = tok();
    if (t.text != "i32" && t.text != "float" && t.text != "f8e4m3")
      return failAt(t, "expected end of line or an element type (i32 for an integer table, "
                       "float, f8e4m3) after the input shape, got " + t.describe());
    in.dtype = t.text.str();
    in.dtypeLoc = loc(t);
    consume();
  }
  spec.inputs.push_back(std::move(in));
  return expectEndOfStatement("the input shape");
}

bool Parser::parseLet(Spec &spec) {
  LetDecl let;
  if (!expectIdent(let.name, "a name after 'let'", &let.loc) ||
      !expectPunct("=", "after the let name (let NAME = FN(TENSOR, ...))") ||
      !parseLetCall(spec, let))
    return false;
  spec.lets.push_back(std::move(let));
  return expectEndOfStatement("the let statement");
}

bool Parser::parseLetCall(Spec &spec, LetDecl &let) {
  if (!expectIdent(let.fn, "a transform (" + joinNames(familyNames(letFamilies())) + ")",
                   &let.fnLoc))
    return false;
  if (!findFamily(letFamilies(), let.fn)) {
    std::vector<std::string> names = familyNames(letFamilies());
    return fail(let.fnLoc, "unknown transform '" + let.fn + "'; expected one of " +
                               joinNames(names) + didYouMean(let.fn, names));
  }
  const Token open = tok();
  if (!expectPunct("(", "after '" + let.fn + "'"))
    return false;
  OpenScope scope(*this, open);
  if (tok().is(TK::Ident) && peekTok().isPunct("(")) {
    // A nested transform, `l2norm(rope(q0, theta=10000))`: an implicit let
    // named NAME__FN, declared just before this one.
    if (nesting >= kMaxNesting)
      return failAt(tok(), "transforms are nested too deeply (more than " +
                               std::to_string(kMaxNesting) + " levels)");
    LetDecl inner;
    inner.loc = loc(tok());
    inner.name = let.name + "__" + tok().text.str();
    ++nesting;
    bool ok = parseLetCall(spec, inner);
    --nesting;
    if (!ok)
      return false;
    let.source = inner.name;
    let.sourceLoc = inner.fnLoc;
    spec.lets.push_back(std::move(inner));
  } else if (!expectIdent(let.source, "the tensor to transform", &let.sourceLoc)) {
    return false;
  }
  if (let.fn == "map") {
    // map's second argument is an expression, not a keyword argument.
    if (!tok().isPunct(","))
      return tok().isPunct(")")
                 ? failAt(tok(), "map needs an expression: map(" + let.source + ", EXPR)")
                 : failUnclosed(open, ")", "',' after the tensor (map(TENSOR, EXPR))");
    consume();
    let.expr = parseBodyExpr();
    if (!let.expr)
      return false;
    if (tok().isPunct(","))
      return failAt(tok(), "map takes one expression: map(" + let.source + ", EXPR)");
    if (!tok().isPunct(")"))
      return failUnclosed(open, ")", "')' after map's expression");
    consume();
    return true;
  }
  while (tok().isPunct(",")) {
    consume();
    Arg a;
    if (!parseArg(a))
      return false;
    let.args.push_back(std::move(a));
  }
  if (!tok().isPunct(")"))
    return failUnclosed(open, ")", "',' or ')' in the arguments of '" + let.fn + "'");
  consume();
  return true;
}

bool Parser::parseAttention(Spec &spec) {
  AttentionDecl a;
  if (!expectIdent(a.name, "an attention name after 'attention'", &a.loc))
    return false;
  a.linkLoc = a.anchorLoc = a.loc;
  const Token open = tok();
  if (!expectPunct("(", "after the attention name (attention NAME(Q, K, V) {)"))
    return false;
  std::optional<OpenScope> scope(std::in_place, *this, open);
  if (!expectIdent(a.q, "the query tensor", &a.qLoc) ||
      !expectPunct(",", "after the query tensor") ||
      !expectIdent(a.k, "the key tensor", &a.kLoc) || !expectPunct(",", "after the key tensor") ||
      !expectIdent(a.v, "the value tensor", &a.vLoc))
    return false;
  if (!tok().isPunct(")"))
    return failUnclosed(open, ")", "')' after the value tensor");
  consume();
  scope.reset();
  const Token brace = tok();
  if (!expectPunct("{", "to open the attention block"))
    return false;
  SeenClauses seen;
  while (true) {
    skipNewlines();
    const Token &t = tok();
    if (t.isPunct("}")) {
      consume();
      break;
    }
    // `let NAME = EXPR` binds a local name; `let NAME = FN(...)` with FN a
    // transform is a top-level let after a forgotten '}', as is any other
    // top-level keyword here.
    bool local = t.is(TK::Ident) && t.text == "let" && peekTok(1).is(TK::Ident) &&
                 peekTok(2).isPunct("=") &&
                 !(peekTok(3).is(TK::Ident) && peekTok(4).isPunct("(") &&
                   findFamily(letFamilies(), peekTok(3).text));
    if (t.is(TK::Eof) ||
        (t.is(TK::Ident) && !local && llvm::is_contained(statementKeywords(), t.text)))
      return failAt(t, "expected '}' to close attention '" + a.name + "' (opened at " +
                           pos2str(brace) + ") before " + t.describe());
    if (local) {
      if (!parseLocal(spec, a, seen) || !expectEndOfStatement("the local binding", true))
        return false;
      continue;
    }
    if (!parseClause(a, seen) || !expectEndOfStatement("the clause", /*allowBrace=*/true))
      return false;
  }
  spec.attentions.push_back(std::move(a));
  return expectEndOfStatement("the attention block's '}'");
}

namespace {
/// E with every identifier bound in LOCALS replaced by its expression (the
/// nodes on the way copied, the rest shared).
ExprPtr substituteLocals(const ExprPtr &e, const llvm::StringMap<ExprPtr> &locals) {
  if (!e || locals.empty())
    return e;
  if (e->kind == Expr::Kind::Ident)
    if (auto it = locals.find(e->name); it != locals.end())
      return it->second;
  // sum(r, EXPR) binds r: a local of that name is hidden inside it.
  if (e->kind == Expr::Kind::Call && e->name == "sum" && e->args.size() == 2 &&
      e->args[0]->kind == Expr::Kind::Ident && locals.count(e->args[0]->name)) {
    llvm::StringMap<ExprPtr> inner = locals;
    inner.erase(e->args[0]->name);
    auto copy = std::make_shared<Expr>(*e);
    copy->args[1] = substituteLocals(e->args[1], inner);
    return copy;
  }
  std::shared_ptr<Expr> copy;
  for (size_t n = 0; n < e->args.size(); ++n) {
    ExprPtr a = substituteLocals(e->args[n], locals);
    if (a == e->args[n])
      continue;
    if (!copy)
      copy = std::make_shared<Expr>(*e);
    copy->args[n] = std::move(a);
  }
  return copy ? copy : e;
}

/// Whether E, read as a tree (a local used twice counts twice), stays within
/// the parser's depth limit and BUDGET nodes: substituted locals share their
/// nodes, so a few lines can describe a tree too large to check or lower.
bool withinLimits(const Expr &e, unsigned depth, size_t &budget) {
  if (depth > kMaxExprDepth || budget == 0)
    return false;
  --budget;
  for (const ExprPtr &a : e.args)
    if (a && !withinLimits(*a, depth + 1, budget))
      return false;
  return true;
}
constexpr size_t kMaxSubstitutedNodes = 100000;
} // namespace

bool Parser::substituted(ExprPtr &e, const SeenClauses &seen, const SourceLoc &where) {
  if (!e)
    return false;
  e = substituteLocals(e, seen.locals);
  size_t budget = kMaxSubstitutedNodes;
  if (!withinLimits(*e, 0, budget))
    return fail(where, "expression is too large with its local bindings substituted (more than " +
                           std::to_string(kMaxExprDepth) + " levels or " +
                           std::to_string(kMaxSubstitutedNodes) + " nodes)");
  return true;
}

bool Parser::parseLocal(const Spec &spec, AttentionDecl &a, SeenClauses &seen) {
  consume(); // let
  const Token name = tok();
  consume();
  consume(); // =
  std::string n = name.text.str();
  auto declared = [&](const std::string &x) {
    return llvm::is_contained(spec.dims, x) ||
           llvm::any_of(spec.inputs, [&](const InputDecl &d) { return d.name == x; }) ||
           llvm::any_of(spec.lets, [&](const LetDecl &d) { return d.name == x; }) ||
           llvm::any_of(spec.attentions, [&](const AttentionDecl &d) { return d.name == x; }) ||
           x == a.name;
  };
  if (isReservedName(n) || declared(n) || seen.locals.count(n))
    return fail(loc(name), "local name '" + n + "' is " +
                               (seen.locals.count(n) ? std::string("already bound in this attention")
                                                     : "already a name (index variables b, h, i, j, "
                                                       "s, x, d, dims, inputs, lets and attentions "
                                                       "are taken)"));
  ExprPtr e = parseBodyExpr();
  if (!substituted(e, seen, loc(name)))
    return false;
  seen.locals[n] = e;
  return true;
}

bool Parser::parseClause(AttentionDecl &a, SeenClauses &seen) {
  const Token kw = tok();
  if (!kw.is(TK::Ident))
    return failAt(kw, "expected a clause (" + joinNames(clauseKeywords()) + ") or '}', got " +
                          kw.describe());
  llvm::StringRef w = kw.text;
  consume();
  if (w == "carrier") {
    CarrierDecl c;
    if (!expectIdent(c.kind, "a carrier kind (" + joinNames(familyNames(carrierFamilies())) + ")",
                     &c.loc))
      return false;
    if (tok().isPunct("(") && !parseArgList(c.args))
      return false;
    a.carriers.push_back(std::move(c));
    return true;
  }
  if (w == "mask" || w == "score" || w == "scale") {
    if (w == "scale" && !checkUnique(seen.scale, kw, a))
      return false;
    ExprPtr e = parseBodyExpr();
    if (!substituted(e, seen, loc(kw)))
      return false;
    if (w == "mask")
      a.masks.push_back(std::move(e));
    else if (w == "score")
      a.scores.push_back(std::move(e));
    else
      a.scale = std::move(e);
    return true;
  }
  if (w == "score_conv") {
    if (!checkUnique(seen.scoreConv, kw, a))
      return false;
    std::vector<Arg> args;
    if (!tok().isPunct("("))
      return failAt(tok(), "expected '(' after 'score_conv' (score_conv(weight=W, queries=Q, "
                           "keys=K)), got " +
                               tok().describe());
    if (!parseArgList(args))
      return false;
    AttentionDecl::ScoreConv conv;
    if (std::optional<Diag> d = buildScoreConv(args, loc(kw), conv))
      return fail(d->loc, d->message);
    a.scoreConv = std::move(conv);
    return true;
  }
  if (w == "link" || w == "anchor") {
    bool isLink = w == "link";
    if (!checkUnique(isLink ? seen.link : seen.anchor, kw, a))
      return false;
    const auto &table = isLink ? linkFamilies() : anchorFamilies();
    std::string name;
    SourceLoc l;
    if (!expectIdent(name, "a" + std::string(isLink ? " link" : "n anchor") + " (" +
                               joinNames(familyNames(table)) + ")",
                     &l))
      return false;
    std::vector<Arg> args;
    if (tok().isPunct("(") && !parseArgList(args))
      return false;
    (isLink ? a.link : a.anchor) = name;
    (isLink ? a.linkArgs : a.anchorArgs) = std::move(args);
    (isLink ? a.linkLoc : a.anchorLoc) = l;
    return true;
  }
  if (w == "weights") {
    if (!checkUnique(seen.weights, kw, a))
      return false;
    if (!tok().isIdent("signed"))
      return failAt(tok(), "expected 'signed' after 'weights', got " + tok().describe());
    consume();
    a.signedWeights = true;
    return true;
  }
  if (w == "axis") {
    if (!checkUnique(seen.axis, kw, a))
      return false;
    if (!tok().isIdent("features") && !tok().isIdent("tokens"))
      return failAt(tok(), "expected 'tokens' or 'features' after 'axis', got " + tok().describe());
    a.featureAxis = tok().text == "features";
    a.axisLoc = loc(kw);
    consume();
    return true;
  }
  if (w == "schedule") {
    if (!checkUnique(seen.schedule, kw, a))
      return false;
    if (!tok().isIdent("split_kv"))
      return tok().is(TK::Ident)
                 ? failAt(tok(), "unknown schedule '" + tok().text + "'; expected split_kv")
                 : failAt(tok(), "expected a schedule (split_kv(CHUNK)), got " +
                                     tok().describe());
    consume();
    const Token open = tok();
    if (!expectPunct("(", "after 'split_kv' (split_kv(CHUNK))"))
      return false;
    OpenScope scope(*this, open);
    const Token &n = tok();
    double v;
    bool isInt;
    if (!n.is(TK::Number))
      return failAt(n, "expected the chunk size (a positive integer), got " + n.describe());
    if (!numberValue(n, v, isInt))
      return false;
    if (!isInt || v < 1 || v > 1e12)
      return failAt(n, "the split_kv chunk must be a positive integer, got " + n.describe());
    a.splitKV = (int64_t)v;
    consume();
    if (!tok().isPunct(")"))
      return failUnclosed(open, ")", "')' after the chunk size");
    consume();
    return true;
  }
  std::vector<std::string> clauses(clauseKeywords().begin(), clauseKeywords().end());
  return fail(loc(kw), "unknown clause '" + w + "' in attention '" + a.name +
                           "'; expected one of " + joinNames(clauses) + didYouMean(w, clauses));
}

bool Parser::parseArgList(std::vector<Arg> &args) {
  const Token open = tok();
  consume(); // '('
  OpenScope scope(*this, open);
  if (tok().isPunct(")")) {
    consume();
    return true;
  }
  while (true) {
    Arg a;
    if (!parseArg(a))
      return false;
    args.push_back(std::move(a));
    if (tok().isPunct(",")) {
      consume();
      continue;
    }
    if (tok().isPunct(")")) {
      consume();
      return true;
    }
    return failUnclosed(open, ")", "',' or ')' in the argument list");
  }
}

bool Parser::parseArg(Arg &arg) {
  arg.loc = loc(tok());
  if (tok().is(TK::Ident) && peekTok().isPunct("=")) {
    arg.key = tok().text.str();
    consume();
    consume();
  }
  return parseValue(arg, /*allowList=*/true);
}

bool Parser::parseValue(Arg &arg, bool allowList) {
  const Token &t = tok();
  if (t.isPunct("-") || t.is(TK::Number) || t.isIdent("inf")) {
    bool negative = t.isPunct("-");
    if (negative)
      consume();
    const Token &n = tok();
    arg.kind = Arg::Kind::Number;
    if (n.isIdent("inf")) {
      arg.number = INFINITY;
    } else if (n.is(TK::Number)) {
      bool isInt;
      if (!numberValue(n, arg.number, isInt))
        return false;
    } else {
      return failAt(n, "expected a number after '-', got " + n.describe());
    }
    if (negative)
      arg.number = -arg.number;
    consume();
    return true;
  }
  if (t.is(TK::Ident)) {
    arg.kind = Arg::Kind::Word;
    arg.word = t.text.str();
    consume();
    return true;
  }
  if (t.isPunct("[")) {
    if (!allowList)
      return failAt(t, "lists cannot be nested");
    const Token open = t;
    consume();
    OpenScope scope(*this, open);
    arg.kind = Arg::Kind::List;
    while (true) {
      Arg elem;
      elem.loc = loc(tok());
      if (!parseValue(elem, /*allowList=*/false))
        return false;
      arg.list.push_back(std::move(elem));
      if (tok().isPunct(",")) {
        consume();
        continue;
      }
      if (tok().isPunct("]")) {
        consume();
        return true;
      }
      return failUnclosed(open, "]", "',' or ']' in the list");
    }
  }
  return failAt(t, "expected a value (a number, a name or a [list]), got " + t.describe());
}

bool Parser::parseOutput(Spec &spec) {
  OutputDecl o;
  if (!expectIdent(o.name, "an output name after 'output'", &o.loc) ||
      !expectPunct("=", "after the output name (output NAME = EXPR)"))
    return false;
  o.expr = parseBodyExpr();
  if (!o.expr)
    return false;
  spec.outputs.push_back(std::move(o));
  return expectEndOfStatement("the output expression");
}


//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

llvm::Expected<Spec> attnc::spec::parseSpecText(llvm::StringRef text, llvm::StringRef filename) {
  Parser p(text, filename.str(), /*exprMode=*/false);
  Spec spec;
  if (!p.parseSpec(spec))
    return p.takeError();
  return spec;
}

llvm::Expected<ExprPtr> attnc::spec::parseExpr(llvm::StringRef text, SourceLoc start) {
  unsigned line = std::max(1u, start.line), col = std::max(1u, start.col);
  Parser p(text, start.file, /*exprMode=*/true, line, col);
  ExprPtr e = p.parseWholeExpr();
  if (!e)
    return p.takeError();
  return e;
}
