"""Development tools: build the template workbook, render workbooks to pictures. Not in the wheel."""
