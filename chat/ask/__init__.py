"""Ask this poll: retrieve the poll's most relevant snippets, then stream an answer. The
answer comes from Groq when GROQ_API_KEY is set and is built locally from the tally and the
comments otherwise; either way it reaches the page as small HTML fragments that htmx appends
to the answer, and it ends with its sources and the tally's own numbers. retrieval finds what
an answer may draw on, wording puts the numbers in words, prompt builds what the model is
sent, llm streams the model's tokens, and pipeline runs one answer from start to finish."""
