# Tidies one mdoc page that swift-argument-parser's generate-manual made from bulkhead's
# ArgumentParser definitions (scripts/package runs it on each), so that mandoc -Tlint and groff
# -ww (and lintian, which runs man) have nothing to say and the page reads well:
#
#  - subcommand pages are named git-style: bulkhead.status(1) becomes bulkhead-status(1);
#  - the help texts' blank lines become .Pp and their indented example lines literal displays
#    (in fill mode roff would warn and run them together);
#  - each sentence of running text starts a line (roff's rule for sentence spacing);
#  - the name line loses its final full stop, `help` leaves SEE ALSO (its page is not
#    installed), and every page points at bulkhead(1) and bulkhead.yaml(5).
#
# Plain POSIX awk (Debian's default awk is mawk).

BEGIN { in_display = 0; see_also = 0; xrefs = 0; named = 0; words = "" }

# Sentence per line: break after . ? or ! followed by spaces and what starts a sentence.
function sentences(line,    out, position) {
  out = ""
  while (match(line, /[.?!] +[A-Z`$(]/)) {
    position = RSTART + 1
    out = out substr(line, 1, position - 1) "\n"
    line = substr(line, position)
    sub(/^ +/, "", line)
  }
  return out line
}

function close_display() {
  if (in_display) { print ".Ed"; in_display = 0 }
}

function flush_see_also(    i) {
  for (i = 1; i <= xrefs; i++) print xref[i] (i < xrefs ? " ," : "")
  xrefs = 0
}

NR == 1 { print; print ".\\\" Tidied by docs/man/tidy-generated.awk"; next }

/^\.Dt BULKHEAD\./ { sub(/^\.Dt BULKHEAD\./, ".Dt BULKHEAD-"); print; next }

# A subcommand's page: the NAME section names it bulkhead-status (lexgrog, and so whatis and
# apropos, take no space in a name), the SYNOPSIS shows the command as typed: bulkhead status.
/^\.Nm "bulkhead [^"]*"$/ && !named {
  command = $0
  sub(/^\.Nm "/, "", command); sub(/"$/, "", command)
  page = command; gsub(/ /, "-", page)
  words = command; sub(/^bulkhead /, "", words)
  print ".Nm " page
  named = 1
  next
}
/^\.Nm$/ && words != "" { print ".Nm bulkhead Cm " words; next }

/^\.Nd / { sub(/\."$/, "\""); print; next }

/^\.Sh "SEE ALSO"/ { close_display(); see_also = 1; print; next }

see_also && /^\.Xr / {
  name = $2
  if (name == "bulkhead.help") next
  sub(/^bulkhead\./, "bulkhead-", name)
  xref[++xrefs] = ".Xr " name " " $3
  next
}

# Running text (not a macro line).
!/^\./ {
  if ($0 ~ /^[ \t]*$/) {
    close_display()
    print ".Pp"
    next
  }
  if ($0 ~ /^  /) {
    if (!in_display) { print ".Bd -literal -offset indent"; in_display = 1 }
    sub(/^  /, "")
    print
    next
  }
  close_display()
  print sentences($0)
  next
}

{ close_display(); print }

END {
  close_display()
  if (!see_also) { print ".Sh \"SEE ALSO\""; xref[++xrefs] = ".Xr bulkhead 1" }
  xref[++xrefs] = ".Xr bulkhead.yaml 5"
  flush_see_also()
}
